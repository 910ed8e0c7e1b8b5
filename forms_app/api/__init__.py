"""Gate endpoints: thin DRF views (input serializer -> one service/selector -> output)."""
