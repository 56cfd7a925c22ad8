"""Local endpoints that speak the AWS wire protocols, backed by the offline engines."""
