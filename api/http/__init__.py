"""The HTTP edge of the public endpoint: body checks, rate limits, CORS, security
headers and the offline GraphiQL page.

Everything here works on raw requests and responses, before or after strawberry,
so the GraphQL layer never sees a body it cannot parse or a caller over its limit.
"""
