//! Every rule of stock, pure: reserve (with the waitlist, per-member limits and blocked
//! members), cancel, release, expire, promote, adjust, move to another variant, commit as
//! a sale and return. No IO lives here. The store loads a [`LedgerState`] for a batch
//! under its stock locks, calls [`apply`] with the batch's [`Intent`]s in order, and writes
//! the [`Delta`] back in a fixed number of statements.
//!
//! **Partial fills.** A request for 3 units with 2 available:
//! - from a live comment (`PartialPolicy::FillThenWaitlist`): 2 are held now and the 1
//!   left over joins the SKU's waitlist when the live allows it (else it is unfilled);
//! - from the POS or web shop API (`PartialPolicy::AllOrNothing`): nothing is held and the
//!   answer is `insufficient_stock` with the available qty, so the caller decides.
//!
//! **Fairness.** Intents are decided in batch order, so the first comment wins. Every
//! stock increase (release, expiry, cancel, positive adjustment, return, move) serves the
//! waitlist within the same intent, so units never sit available while someone waits: a
//! new request cannot jump the queue.
//!
//! **Orders.** A hold that is a line of an order is released only by its order: a cancel
//! comment or a removed comment leaves it alone and says so in its outcome.

mod engine;
mod types;

pub use engine::*;
pub use types::*;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;
