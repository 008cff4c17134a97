"""Segments: saved and built-in segments, their members as of any instant, a
preview of a rule before saving it, the segment mutations, `Customer.segments`.

Built-in segments (lifecycle stages, RFM classes) have global IDs of the kind
`BuiltInSegment`, so they can never collide with a saved segment's id; both are the
GraphQL type `Segment`, told apart by `builtIn`.
"""
