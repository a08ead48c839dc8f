"""Platform adapters: translate chat events into core commands and results into messages."""
