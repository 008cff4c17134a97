async def test_upsert_then_read(gql):
    data = await gql(
        """mutation($input: CustomerUpsertInput!) {
             customerUpsert(input: $input) { created customer { id email phone tags { name } }
               userErrors { field message code } } }""",
        {"input": {"externalId": "c-1", "email": " Li.Na@Example.COM ", "phone": "13800138000"}},
    )
    payload = data["customerUpsert"]
    assert payload["userErrors"] == []
    assert payload["customer"]["email"] == "li.na@example.com"
    assert payload["customer"]["phone"] == "+8613800138000"
