//! When each POST goes out and which comments it carries. Pure and seeded.
//!
//! Comments are written at the target rate. Meta does not deliver them in order: within
//! each quarter second they are shuffled, 5% are delivered a second time a quarter to a
//! half second later, and the stream is cut into POSTs of 1 to 100 changes.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// Share of comments Meta delivers twice, in percent.
pub const REDELIVER_PCT: u64 = 5;
pub const MAX_CHANGES: usize = 100;

pub struct Post {
    /// Intended send time, from the start of the run.
    pub at: Duration,
    pub comments: Vec<u32>,
}

pub struct Plan {
    pub posts: Vec<Post>,
    /// Distinct comments.
    pub comments: u32,
    /// Deliveries beyond the first.
    pub redeliveries: u32,
    /// Intended send time of each comment's first delivery, in ms from the start; the
    /// comment's platform `created_time` follows from it.
    pub first_at_ms: Vec<u32>,
}

pub fn plan(rate: f64, seconds: f64, seed: u64) -> Plan {
    let comments = (rate * seconds).round().max(1.0) as u32;
    let block = ((rate / 4.0).round() as u32).max(1);
    let mut rng = StdRng::seed_from_u64(seed);
    let blocks = comments.div_ceil(block) as usize;
    let mut late: Vec<Vec<u32>> = vec![Vec::new(); blocks + 2];
    let mut stream: Vec<u32> = Vec::with_capacity(comments as usize * 106 / 100);
    let mut redeliveries = 0;
    for b in 0..blocks + 2 {
        let mut items = std::mem::take(&mut late[b]);
        if b < blocks {
            let start = b as u32 * block;
            let end = (start + block).min(comments);
            for i in start..end {
                items.push(i);
                if rng.random_range(0..100) < REDELIVER_PCT {
                    late[b + rng.random_range(1..=2)].push(i);
                    redeliveries += 1;
                }
            }
        }
        items.shuffle(&mut rng);
        stream.extend(items);
    }
    let per_delivery = seconds / stream.len() as f64;
    let mut posts = Vec::new();
    let mut first_at_ms = vec![u32::MAX; comments as usize];
    let mut position = 0;
    while position < stream.len() {
        let take = rng
            .random_range(1..=MAX_CHANGES)
            .min(stream.len() - position);
        let at = Duration::from_secs_f64(position as f64 * per_delivery);
        let ids = stream[position..position + take].to_vec();
        for &i in &ids {
            let slot = &mut first_at_ms[i as usize];
            *slot = (*slot).min(at.as_millis() as u32);
        }
        posts.push(Post { at, comments: ids });
        position += take;
    }
    Plan {
        posts,
        comments,
        redeliveries,
        first_at_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_comment_goes_out_some_twice_in_posts_of_one_to_a_hundred() {
        let plan = plan(2_000.0, 3.0, 5);
        assert_eq!(plan.comments, 6_000);
        let mut seen = vec![0u32; 6_000];
        for post in &plan.posts {
            assert!((1..=MAX_CHANGES).contains(&post.comments.len()));
            for &i in &post.comments {
                seen[i as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1 || n == 2));
        let twice = seen.iter().filter(|&&n| n == 2).count() as u32;
        assert_eq!(twice, plan.redeliveries);
        assert!((200..400).contains(&twice), "{twice} redelivered");
        assert!(plan.posts.last().unwrap().at < Duration::from_secs(3));
        assert!(plan.posts.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn order_is_shuffled_but_only_locally() {
        let plan = plan(4_000.0, 2.0, 9);
        let order: Vec<u32> = plan.posts.iter().flat_map(|p| p.comments.clone()).collect();
        assert!(order.windows(2).any(|w| w[0] > w[1]), "shuffled");
        for post in &plan.posts {
            for &i in &post.comments {
                let written_ms = i as u64 * 1000 / 4_000;
                let sent_ms = post.at.as_millis() as u64;
                assert!(
                    sent_ms + 300 >= written_ms,
                    "comment {i} sent before it was written"
                );
                assert!(sent_ms <= written_ms + 800, "comment {i} sent {sent_ms} ms");
            }
        }
    }
}
