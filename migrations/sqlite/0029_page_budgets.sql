-- Meta's budgets per Page and kind of reply, shared by every replica: one GCRA row each
-- (the theoretical arrival time of the next call, in microseconds). A dispatcher spends a
-- call with the row locked, so two replicas never both spend the last call. Used on
-- Postgres, where several replicas may dispatch.
CREATE TABLE page_budgets (
    page_id TEXT   NOT NULL,
    kind    TEXT   NOT NULL,
    tat_us  BIGINT NOT NULL,
    PRIMARY KEY (page_id, kind)
);
