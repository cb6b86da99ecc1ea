"""A script whose backend is down."""

if __name__ == "__main__":
    raise ConnectionError("api.encord.com unreachable")
