-- News about a buyer's orders (paid, changed, fulfilled) is sent in the order it was
-- written: the dispatcher does not claim one while an earlier one of the same buyer is
-- still waiting or being sent. This index answers "is there an earlier one?".
CREATE INDEX outbox_order_news ON outbox (member_id, id)
    WHERE topic IN ('paid', 'order_changed', 'fulfilled');
