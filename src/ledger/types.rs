use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub type SkuId = i64;
pub type MemberId = i64;
pub type LiveId = i64;

/// Units of one SKU: everything counted, and the part promised to holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Level {
    pub on_hand: i64,
    pub reserved: i64,
}

impl Level {
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

/// Where a stock change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Live,
    Pos,
    Web,
    Api,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Live => "live",
            Channel::Pos => "pos",
            Channel::Web => "web",
            Channel::Api => "api",
        }
    }

    pub fn parse(value: &str) -> Option<Channel> {
        match value {
            "live" => Some(Channel::Live),
            "pos" => Some(Channel::Pos),
            "web" => Some(Channel::Web),
            "api" => Some(Channel::Api),
            _ => None,
        }
    }
}

/// How a request that cannot be filled whole is treated. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartialPolicy {
    AllOrNothing,
    FillThenWaitlist,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReserveRequest {
    pub sku_id: SkuId,
    pub qty: i64,
    pub member_id: Option<MemberId>,
    pub live_id: Option<LiveId>,
    pub channel: Channel,
    pub reference: String,
    pub ttl_seconds: i64,
    pub partial: PartialPolicy,
    /// The live allows a waitlist.
    pub waitlist: bool,
    pub limit_per_member: Option<i64>,
}

/// Why a request got nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    InsufficientStock { available: i64 },
    MemberBlocked { reason: String },
    LimitExceeded { limit: i64, already: i64 },
    UnknownSku,
    BadQty,
}

/// What one request got: units held now, units waiting, units refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub held: i64,
    pub waitlisted: i64,
    /// Units neither held nor waiting (no waitlist allowed), when some were held.
    pub unfilled: i64,
    pub rejection: Option<Rejection>,
}

impl Decision {
    pub fn rejected(reason: Rejection) -> Decision {
        Decision {
            held: 0,
            waitlisted: 0,
            unfilled: 0,
            rejection: Some(reason),
        }
    }
}
