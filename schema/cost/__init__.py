"""Query cost: what an operation may cost before it runs (`calculator`, with `collect` collecting
fields as execution does), how each field is priced (`rules`), and the extension that refuses
and throttles by it (`extension`). README, "Query cost".
"""
