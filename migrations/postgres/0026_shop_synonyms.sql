-- The shop's own words (issue 16 §3): colours, sizes and counters the parser adds to its
-- fixed vocabulary, edited by the owner as one table. There is one shop per deployment,
-- so the shop is the database. `position` keeps the owner's order; `meaning` is the
-- catalogue option a colour or size word means, or how many units a counter is.
CREATE TABLE shop_synonyms (
    position      BIGINT NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('colour', 'size', 'counter')),
    word          TEXT    NOT NULL UNIQUE,
    meaning       TEXT    NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
