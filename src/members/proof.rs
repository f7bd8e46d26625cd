//! A buyer proves that another member is theirs too, with a one-time code sent to that
//! member's own chat; typing it back joins the two (the other member survives).
//!
//! This is the only way a buyer merges members: a typed phone or email alone never does
//! (anyone can type anyone's phone). The code travels only to the member that already
//! holds the contact, so a buyer who typed someone else's phone cannot get it.

use crate::auth::hash_token;
use crate::ledger::MemberId;
use crate::outbox::plan::{enqueue_notice_in, Channel, Notice, CONFIRMATION};
use crate::outbox::ReplyFacts;
use crate::store::{
    check_proof_in, latest_live_of_in, merge_members_in, start_proof_in, MergeError, MergeReason,
    ProofCheck, ProofStart, Store, StoreResult,
};
use crate::vocab::Topic;

/// How long a code works.
pub const CODE_TTL_MS: i64 = 10 * 60_000;

/// What asking for a code came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeAsked {
    Sent,
    /// The other member has no open chat to send it through; nothing was written.
    NoChannel,
    TooMany,
    NotOpen,
}

/// What typing a code came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeTyped {
    /// The buyer's member was folded into `survivor`.
    Joined {
        survivor: MemberId,
    },
    Wrong {
        tries_left: i64,
    },
    /// Not six digits: no code looks like that, so no try is counted.
    NotSixDigits,
    NoCode,
    NotOpen,
}

/// Sends a new code for the open suggestion `suggestion_id` of the buyer of `member_id`.
pub async fn send_code(
    store: &Store,
    member_id: MemberId,
    suggestion_id: i64,
    now: i64,
) -> StoreResult<CodeAsked> {
    let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
    let mut tx = store.begin_write().await?;
    let holder = match start_proof_in(
        &mut tx,
        suggestion_id,
        member_id,
        &hash_token(&code),
        now,
        CODE_TTL_MS,
    )
    .await?
    {
        ProofStart::Started { holder } => holder,
        ProofStart::TooMany => return Ok(CodeAsked::TooMany),
        ProofStart::NotOpen => return Ok(CodeAsked::NotOpen),
    };
    let Some(live_id) = latest_live_of_in(&mut tx, holder).await? else {
        return Ok(CodeAsked::NoChannel);
    };
    let notice = Notice {
        topic: Topic::IdentityCode,
        live_id,
        member_id: holder,
        facts: ReplyFacts {
            code: Some(code),
            ..ReplyFacts::default()
        },
        // A new code is a new message; the hash is unique to this code.
        dedupe_key: format!("identity_code:{suggestion_id}:{now}"),
        priority: CONFIRMATION,
    };
    match enqueue_notice_in(&mut tx, &notice, now, now).await? {
        Some(Channel::SendApi | Channel::Telegram | Channel::PrivateReply) => {
            tx.commit().await?;
            Ok(CodeAsked::Sent)
        }
        // Dropping the transaction keeps neither the code nor a skipped reply.
        Some(Channel::None) | None => Ok(CodeAsked::NoChannel),
    }
}

/// Checks a code the buyer of `member_id` typed; a right one joins the two members.
pub async fn type_code(
    store: &Store,
    member_id: MemberId,
    suggestion_id: i64,
    typed: &str,
    now: i64,
) -> StoreResult<CodeTyped> {
    let Some(code) = normalise_code(typed) else {
        return Ok(CodeTyped::NotSixDigits);
    };
    let mut tx = store.begin_write().await?;
    match check_proof_in(&mut tx, suggestion_id, member_id, &hash_token(&code), now).await? {
        ProofCheck::Proven { holder, merged } => {
            match merge_members_in(
                &mut tx,
                holder,
                merged,
                MergeReason::ProvenCode,
                "buyer (one-time code)",
                now,
            )
            .await
            {
                Ok(_) => {}
                Err(MergeError::Store(err)) => return Err(err),
                Err(_) => return Ok(CodeTyped::NotOpen),
            }
            tx.commit().await?;
            Ok(CodeTyped::Joined { survivor: holder })
        }
        ProofCheck::Wrong { tries_left } => {
            tx.commit().await?;
            Ok(CodeTyped::Wrong { tries_left })
        }
        ProofCheck::NoCode => Ok(CodeTyped::NoCode),
        ProofCheck::NotOpen => Ok(CodeTyped::NotOpen),
    }
}

/// Six digits, as typed: spaces and dashes dropped, full-width digits read as digits.
pub fn normalise_code(typed: &str) -> Option<String> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_buyers_type_them() {
        assert_eq!(normalise_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalise_code("１２３４５６").as_deref(), Some("123456"));
        assert_eq!(normalise_code("123-456").as_deref(), Some("123456"));
        assert_eq!(normalise_code("12345"), None);
        assert_eq!(normalise_code("12345a"), None);
        assert_eq!(normalise_code("1234567"), None);
    }
}
