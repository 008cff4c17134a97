"""GraphQL API: schema, resolvers, loaders, auth, the ASGI app and the CLI."""
