//! Approvals needed by policy: an AND list of slots, each `{group, count}` ("one of berth-approvers and one of
//! platform-approvers"), and who fills them.
//!
//! A person counts once, never for their own request, and in one slot only. Which slot is not fixed when
//! they approve: the approvals so far are matched to the slots so that as many seats as possible are filled
//! (someone in both groups who approved first must not take the only seat another approver could fill). The
//! matching is recomputed from the approvals each time, so the progress shown and the decision to complete
//! the request always agree.
//!
//! Pure functions, no I/O: the workflow calls them with what it read, the pages with what they show.

use serde::{Deserialize, Serialize};

/// One slot of the approvals needed: `count` different people of `group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// `None`: anyone with the approver role (what a stage without a policy of its own needs, as before
    /// policies existed). Everyone who decides has passed the role gate, so that is anyone who decides.
    pub group: Option<String>,
    pub count: u32,
}

impl Slot {
    /// One approval by anyone with the approver role.
    pub fn any_approver() -> Self {
        Self { group: None, count: 1 }
    }

    /// The slot as people read it: its group, or "an approver".
    pub fn label(&self) -> &str {
        self.group.as_deref().unwrap_or("an approver")
    }
}

/// Someone who approved (or may approve): who, and the groups they had at their last sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approver<'a> {
    pub person: &'a str,
    pub groups: &'a [String],
}

impl Approver<'_> {
    fn may_sit_in(&self, slot: &Slot) -> bool {
        slot.group.as_ref().is_none_or(|group| self.groups.contains(group))
    }
}

/// Where the approvals of a request stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Per slot (in the policy's order), the people counted in it.
    pub seated: Vec<Vec<String>>,
    /// Whether every seat of every slot is filled: the request is approved.
    pub complete: bool,
}

impl Progress {
    /// How many seats are filled, of how many.
    pub fn filled(&self, slots: &[Slot]) -> (u32, u32) {
        let filled = self.seated.iter().map(|people| people.len() as u32).sum();
        (filled, slots.iter().map(|slot| slot.count).sum())
    }
}

/// An approval recorded so far, as the policy judges it: who, their name (for the progress line) and the
/// groups they approved with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GivenApproval<'a> {
    pub person: &'a str,
    pub name: &'a str,
    pub groups: &'a [String],
}

/// Where a pending request's approvals stand for one approver: the progress, and what they may add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalStanding {
    pub progress: ApprovalProgress,
    pub approve: ApproveOffer,
    /// One eligible denial ends the request.
    pub may_deny: bool,
}

/// What the approver's approval would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApproveOffer {
    /// It fills the last seat: the request is approved.
    Completes,
    /// It fills a seat; others are still needed.
    Counts,
    /// It would fill no seat, and why.
    Refused(String),
}

/// Whether `approver` is in a group one of `slots` takes.
pub fn could_sit(slots: &[Slot], approver: Approver<'_>) -> bool {
    slots.iter().any(|slot| approver.may_sit_in(slot))
}

/// Where a pending request's approvals stand, as its pages show it: each slot, with the names of the people
/// counted in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalProgress {
    pub slots: Vec<SlotProgress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotProgress {
    /// `None`: anyone with the approver role.
    pub group: Option<String>,
    pub count: u32,
    /// Display names, in the order they approved.
    pub approved_by: Vec<String>,
}

impl ApprovalProgress {
    /// `progress` of `slots`, with `name_of` each person id.
    pub fn of(slots: &[Slot], progress: &Progress, name_of: impl Fn(&str) -> String) -> Self {
        let slots = slots.iter().zip(&progress.seated).map(|(slot, seated)| SlotProgress {
            group: slot.group.clone(),
            count: slot.count,
            approved_by: seated.iter().map(|person| name_of(person)).collect(),
        });
        Self { slots: slots.collect() }
    }

    /// Whether it takes more than one person's approval, so that progress is worth showing.
    pub fn needs_several(&self) -> bool {
        self.slots.iter().map(|slot| slot.count).sum::<u32>() > 1
    }

    /// "1 of 2: berth-approvers approved by Bob Berg; platform-approvers waiting".
    pub fn line(&self) -> String {
        let given: usize = self.slots.iter().map(|slot| slot.approved_by.len()).sum();
        let needed: u32 = self.slots.iter().map(|slot| slot.count).sum();
        let slots: Vec<String> = self
            .slots
            .iter()
            .map(|slot| {
                let label = slot.group.as_deref().unwrap_or("an approver");
                let missing = (slot.count as usize).saturating_sub(slot.approved_by.len());
                match (slot.approved_by.as_slice(), missing) {
                    ([], 1) => format!("{label} waiting"),
                    ([], missing) => format!("{label} waiting for {missing}"),
                    (people, 0) => format!("{label} approved by {}", people.join(" and ")),
                    (people, missing) => format!("{label} approved by {}, {missing} more waiting", people.join(", ")),
                }
            })
            .collect();
        format!("{given} of {needed}: {}", slots.join("; "))
    }
}

/// The approvals so far, matched to the slots (the requester's and repeated approvals never count).
pub fn progress(slots: &[Slot], requester: &str, approvals: &[Approver<'_>]) -> Progress {
    let counted = distinct_others(requester, approvals);
    let seat_of = best_seating(slots, &counted);
    let mut seated = vec![Vec::new(); slots.len()];
    for (approver, seat) in counted.iter().zip(seat_of) {
        if let Some(seat) = seat {
            seated[slot_of_seat(slots, seat)].push(approver.person.to_string());
        }
    }
    let complete = seated.iter().zip(slots).all(|(people, slot)| people.len() as u32 >= slot.count);
    Progress { seated, complete }
}

/// Whether `candidate`'s approval would count: not the requester, not already counted, and one more seat
/// filled with them than without. What the Approvals page offers a person, and what the workflow accepts.
pub fn approval_would_count(
    slots: &[Slot],
    requester: &str,
    approvals: &[Approver<'_>],
    candidate: Approver<'_>,
) -> bool {
    if candidate.person == requester || approvals.iter().any(|approver| approver.person == candidate.person) {
        return false;
    }
    let before = progress(slots, requester, approvals).filled(slots).0;
    let with_candidate: Vec<Approver<'_>> = approvals.iter().copied().chain([candidate]).collect();
    progress(slots, requester, &with_candidate).filled(slots).0 > before
}

/// Whether `candidate` may deny: one eligible denial ends the request, and eligible is anyone but the
/// requester who could sit in one of the slots.
pub fn may_deny(slots: &[Slot], requester: &str, candidate: Approver<'_>) -> bool {
    candidate.person != requester && slots.iter().any(|slot| candidate.may_sit_in(slot))
}

/// Each person once, in the order they approved, without the requester.
fn distinct_others<'a>(requester: &str, approvals: &[Approver<'a>]) -> Vec<Approver<'a>> {
    let mut counted: Vec<Approver<'a>> = Vec::new();
    for approver in approvals {
        if approver.person != requester && counted.iter().all(|seen| seen.person != approver.person) {
            counted.push(*approver);
        }
    }
    counted
}

/// The slot a seat belongs to: seats are numbered slot by slot, `count` seats each.
fn slot_of_seat(slots: &[Slot], seat: usize) -> usize {
    let mut first = 0;
    for (index, slot) in slots.iter().enumerate() {
        first += slot.count as usize;
        if seat < first {
            return index;
        }
    }
    unreachable!("seat {seat} is beyond the slots' {first} seats")
}

/// A largest matching of approvers to seats (augmenting paths; a handful of people and seats), as the seat of
/// each approver, `None` for those who fill none.
fn best_seating(slots: &[Slot], approvers: &[Approver<'_>]) -> Vec<Option<usize>> {
    let seats: Vec<usize> =
        slots.iter().enumerate().flat_map(|(index, slot)| std::iter::repeat_n(index, slot.count as usize)).collect();
    let mut sitter_of: Vec<Option<usize>> = vec![None; seats.len()];
    for approver in 0..approvers.len() {
        let mut visited = vec![false; seats.len()];
        seat(approver, slots, approvers, &seats, &mut sitter_of, &mut visited);
    }
    let mut seat_of = vec![None; approvers.len()];
    for (seat, sitter) in sitter_of.into_iter().enumerate() {
        if let Some(approver) = sitter {
            seat_of[approver] = Some(seat);
        }
    }
    seat_of
}

/// Finds `approver` a seat, moving those already seated to other seats they may take if that frees one.
fn seat(
    approver: usize,
    slots: &[Slot],
    approvers: &[Approver<'_>],
    seats: &[usize],
    sitter_of: &mut [Option<usize>],
    visited: &mut [bool],
) -> bool {
    for (seat_index, slot) in seats.iter().enumerate() {
        if visited[seat_index] || !approvers[approver].may_sit_in(&slots[*slot]) {
            continue;
        }
        visited[seat_index] = true;
        let free = match sitter_of[seat_index] {
            None => true,
            Some(other) => seat(other, slots, approvers, seats, sitter_of, visited),
        };
        if free {
            sitter_of[seat_index] = Some(approver);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(list: &[(&str, u32)]) -> Vec<Slot> {
        list.iter().map(|(group, count)| Slot { group: Some((*group).to_string()), count: *count }).collect()
    }

    fn groups(list: &[&str]) -> Vec<String> {
        list.iter().map(|group| (*group).to_string()).collect()
    }

    const REQUESTER: &str = "alice";

    #[test]
    fn production_needs_one_of_each_group() {
        let production = slots(&[("berth-approvers", 1), ("platform-approvers", 1)]);
        let (bob, erin) = (groups(&["berth-approvers"]), groups(&["platform-approvers"]));
        let only_bob = [Approver { person: "bob", groups: &bob }];
        let halfway = progress(&production, REQUESTER, &only_bob);
        assert_eq!(halfway.seated, [vec!["bob".to_string()], vec![]]);
        assert!(!halfway.complete);
        assert_eq!(halfway.filled(&production), (1, 2));
        let both = [only_bob[0], Approver { person: "erin", groups: &erin }];
        assert!(progress(&production, REQUESTER, &both).complete);
    }

    #[test]
    fn someone_in_both_groups_takes_the_seat_that_leaves_the_other_for_the_next_approver() {
        let production = slots(&[("berth-approvers", 1), ("platform-approvers", 1)]);
        let (carol, bob) = (groups(&["berth-approvers", "platform-approvers"]), groups(&["berth-approvers"]));
        let carol_first = [Approver { person: "carol", groups: &carol }];
        let bob_next = Approver { person: "bob", groups: &bob };
        assert!(approval_would_count(&production, REQUESTER, &carol_first, bob_next), "carol moves to platform");
        let both = [carol_first[0], bob_next];
        let done = progress(&production, REQUESTER, &both);
        assert!(done.complete);
        assert_eq!(done.seated, [vec!["bob".to_string()], vec!["carol".to_string()]]);
    }

    #[test]
    fn a_person_counts_once_and_never_for_their_own_request() {
        let two = slots(&[("berth-approvers", 2)]);
        let approvers = groups(&["berth-approvers"]);
        let bob = Approver { person: "bob", groups: &approvers };
        let alice = Approver { person: REQUESTER, groups: &approvers };
        let twice = progress(&two, REQUESTER, &[bob, bob, alice]);
        assert_eq!(twice.seated, [vec!["bob".to_string()]]);
        assert!(!twice.complete);
        assert!(!approval_would_count(&two, REQUESTER, &[bob], bob), "already counted");
        assert!(!approval_would_count(&two, REQUESTER, &[bob], alice), "own request");
        assert!(!may_deny(&two, REQUESTER, alice), "nor deny it");
    }

    #[test]
    fn an_approval_that_fills_no_seat_is_not_offered() {
        let production = slots(&[("berth-approvers", 1), ("platform-approvers", 1)]);
        let berth = groups(&["berth-approvers"]);
        let outsider = groups(&["developers"]);
        let bob = Approver { person: "bob", groups: &berth };
        let frank = Approver { person: "frank", groups: &berth };
        assert!(!approval_would_count(&production, REQUESTER, &[bob], frank), "berth's seat is taken");
        assert!(may_deny(&production, REQUESTER, frank), "but frank may still deny");
        let dave = Approver { person: "dave", groups: &outsider };
        assert!(!approval_would_count(&production, REQUESTER, &[], dave));
        assert!(!may_deny(&production, REQUESTER, dave), "in no slot's group");
    }

    #[test]
    fn progress_reads_as_who_approved_and_what_still_waits() {
        let production = slots(&[("berth-approvers", 1), ("platform-approvers", 1)]);
        let bob = groups(&["berth-approvers"]);
        let approvals = [Approver { person: "bob", groups: &bob }];
        let shown = ApprovalProgress::of(&production, &progress(&production, REQUESTER, &approvals), |id| {
            if id == "bob" { "Bob Berg".to_string() } else { id.to_string() }
        });
        assert_eq!(shown.line(), "1 of 2: berth-approvers approved by Bob Berg; platform-approvers waiting");
        assert!(shown.needs_several());
        let three = slots(&[("berth-approvers", 3)]);
        let partly = ApprovalProgress::of(&three, &progress(&three, REQUESTER, &approvals), str::to_string);
        assert_eq!(partly.line(), "1 of 3: berth-approvers approved by bob, 2 more waiting");
        let nobody = ApprovalProgress::of(&three, &progress(&three, REQUESTER, &[]), str::to_string);
        assert_eq!(nobody.line(), "0 of 3: berth-approvers waiting for 3");
        let one = [Slot::any_approver()];
        let single = ApprovalProgress::of(&one, &progress(&one, REQUESTER, &[]), str::to_string);
        assert!(!single.needs_several(), "one approval as before policies: nothing to show");
        assert_eq!(single.line(), "0 of 1: an approver waiting");
    }

    #[test]
    fn anyone_with_the_approver_role_sits_in_a_slot_without_a_group() {
        let one = [Slot::any_approver()];
        let nothing: Vec<String> = Vec::new();
        let frank = Approver { person: "frank", groups: &nothing };
        assert!(approval_would_count(&one, REQUESTER, &[], frank));
        assert!(progress(&one, REQUESTER, &[frank]).complete);
        assert!(may_deny(&one, REQUESTER, frank));
    }

    #[test]
    fn no_slots_is_complete_at_once() {
        assert!(progress(&[], REQUESTER, &[]).complete);
    }
}
