"""The contracts between the functions: the items of the tables, the messages of the
protocol, what one function sends another, the keys of the buckets and the language table.
Bundled into every function's asset, with delivery/ and deployment/."""
