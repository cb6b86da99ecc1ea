"""A local Encord backend that the real encord SDK talks to unmodified."""
