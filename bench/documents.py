"""The two reads bench/api.py drives, in a module of their own (no benchmark
dependencies), so that tests/api/test_read_statements.py counts the statements of the
very documents the benchmark measures."""

SHOPPER_READ = """
query Home($me: ID!) {
  me {
    id
    externalId
    name
    points { available pending debt lifetimeEarned }
    tier { id name rank }
    tierProgress { current { name } next { name threshold } qualifyingValue remainingToNext }
    ledger(first: 20) {
      nodes { id kind points balanceAfter reason createdAt }
      pageInfo { hasNextPage endCursor }
    }
  }
  rewards(first: 10, filter: {activeOnly: true, affordableFor: $me}) {
    nodes { id name pointsCost kind stock }
  }
}"""

CUSTOMER_PAGE = """
query Page($externalId: String!) {
  customer(externalId: $externalId) {
    id externalId name email phone createdAt
    ordersCount totalSpent { amount currency } lastOrderAt
    points { available pending }
    tier { name }
    tierProgress { next { name } remainingToNext }
    tags { name }
  }
}"""
