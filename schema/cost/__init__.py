"""Query cost: what an operation may cost before it runs (`calculator`), how each field is priced
(`rules`), and the extension that refuses and throttles by it (`extension`). README, "Query cost".
"""
