-- Product aliases (issue 16 §3): extra keywords a buyer may type for one product,
-- a JSON array of strings like `options`.
ALTER TABLE products ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
