//! One run's comments on the wire: ids, authors and the signed `feed` payloads.

use serde::Serialize;

use super::plan::Plan;
use super::scenario::{self, Scenario};

/// The Facebook page the storm's live video belongs to.
pub const PAGE_ID: &str = "137542570280222";

/// A run: its scenario, its tag (which keeps its products, post and comment ids apart
/// from earlier runs on the same instance) and its plan.
pub struct Storm {
    pub scenario: Scenario,
    pub seed: u64,
    pub tag: String,
    pub plan: Plan,
    viewers: u64,
}

#[derive(Serialize)]
struct Feed<'a> {
    object: &'static str,
    entry: [Entry<'a>; 1],
}

#[derive(Serialize)]
struct Entry<'a> {
    id: &'static str,
    time: i64,
    changes: Vec<Change<'a>>,
}

#[derive(Serialize)]
struct Change<'a> {
    field: &'static str,
    value: CommentValue<'a>,
}

#[derive(Serialize)]
struct From {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct CommentValue<'a> {
    from: From,
    item: &'static str,
    comment_id: String,
    post_id: &'a str,
    verb: &'static str,
    parent_id: &'a str,
    created_time: i64,
    message: String,
}

impl Storm {
    pub fn new(scenario: Scenario, seed: u64, tag: String, plan: Plan) -> Storm {
        let viewers = scenario::viewers(plan.comments as u64);
        Storm {
            scenario,
            seed,
            tag,
            plan,
            viewers,
        }
    }

    /// The live video's id, as Meta writes a page post: `{page}_{object}`.
    pub fn post_id(&self) -> String {
        format!("{PAGE_ID}_{}", self.tag)
    }

    pub fn comment_id(&self, i: u32) -> String {
        format!("{}_c{i}", self.tag)
    }

    /// The comment index behind one of this run's comment ids.
    pub fn index_of(&self, comment_id: &str) -> Option<u32> {
        let rest = comment_id.strip_prefix(&self.tag)?.strip_prefix("_c")?;
        rest.parse().ok().filter(|&i| i < self.plan.comments)
    }

    /// The body of one POST: comments `ids`, written `base_secs` + their first send time.
    pub fn body(&self, ids: &[u32], base_secs: i64) -> Vec<u8> {
        let post_id = self.post_id();
        let changes = ids
            .iter()
            .map(|&i| {
                let user = scenario::mix(self.seed ^ 0x5eed, i as u64) % self.viewers;
                Change {
                    field: "feed",
                    value: CommentValue {
                        from: From {
                            id: format!("{}u{user}", self.tag),
                            name: format!("viewer {user}"),
                        },
                        item: "comment",
                        comment_id: self.comment_id(i),
                        post_id: &post_id,
                        verb: "add",
                        parent_id: &post_id,
                        created_time: base_secs
                            + i64::from(self.plan.first_at_ms[i as usize] / 1000),
                        message: scenario::comment_text(self.scenario, self.seed, i as u64),
                    },
                }
            })
            .collect();
        let feed = Feed {
            object: "page",
            entry: [Entry {
                id: PAGE_ID,
                time: base_secs,
                changes,
            }],
        };
        serde_json::to_vec(&feed).expect("a feed payload serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{normalise_meta, Inbound};
    use crate::loadgen::plan::plan;

    #[test]
    fn bodies_are_meta_feed_comments_on_the_runs_post() {
        let storm = Storm::new(Scenario::Lineup, 1, "r1a".into(), plan(100.0, 1.0, 1));
        let body = storm.body(&[3, 4], 1_700_000_000);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let items = normalise_meta(&value).items;
        assert_eq!(items.len(), 2);
        let Inbound::Event(event) = &items[0] else {
            panic!("not an event: {items:?}");
        };
        assert_eq!(event.comment_id.as_deref(), Some("r1a_c3"));
        assert_eq!(event.object_id.as_deref(), Some("137542570280222_r1a"));
        assert!(event.ignore.is_none());
        assert_eq!(storm.index_of("r1a_c3"), Some(3));
        assert_eq!(storm.index_of("r1b_c3"), None);
    }
}
