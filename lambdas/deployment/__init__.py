"""Deployment facts the stacks, the local runner and the functions read alike: every
function's name, bundle, handler and size (functions.py), the environment variables the
stacks set (env_names.py), and how a function reads them (config.py). Bundled into every
function."""
