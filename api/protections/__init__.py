"""GraphQL-level protections: limits on a document's shape and cost, checked before
execution, and error texts that give nothing away in production.

Every check here visits each fragment of a document once (memoized), so validating
any document under the token limit is linear in its size.
"""
