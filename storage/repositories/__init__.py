"""The repositories of a `storage.tx.SqlTx`, one module per aggregate."""
