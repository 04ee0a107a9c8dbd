//! The in-memory state machine of one capture: the stored state a batch
//! touches, the batch applied to it event by event, and the write plan.

use std::collections::{HashMap, HashSet};

use super::{Rejection, key_str, status, status_after};
use crate::auth::Role;
use crate::domain::cbv::{BizStep, Disposition};
use crate::domain::custody::{MAX_ASSEMBLY_DEPTH, Party, Snapshot, changes};
use crate::domain::event::{Action, DeviceRef, EventType, ValidEvent};
use crate::policy::{self, Relationship};
use crate::store::capture::{
    CustodyChange, DeviceHandle, DeviceState, NewDevice, NewEvent, NewLink, WritePlan,
};

struct Dev {
    gtin: String,
    serial: String,
    service_partner_id: Option<i64>,
    state: DeviceState,
}

/// Where a component's current link came from.
#[derive(Clone, Copy)]
enum LinkRef {
    Existing(i64),
    New(usize),
}

/// Applies a batch to an in-memory copy of the state it touches, producing
/// the write plan or the first rejection of each event.
pub(super) struct Planner {
    org_id: i64,
    role: Role,
    org_slug: String,
    operator: String,
    handles: HashMap<String, DeviceHandle>,
    devices: HashMap<DeviceHandle, Dev>,
    original: HashMap<i64, DeviceState>,
    parent_of: HashMap<DeviceHandle, (DeviceHandle, LinkRef)>,
    products: HashMap<String, i64>,
    orgs: HashMap<String, i64>,
    /// Theft reports a recovery may name: eventID -> devices reported
    /// stolen by it (stored ones, then this batch's).
    thefts: HashMap<String, HashSet<DeviceHandle>>,
    plan: WritePlan,
}

/// The eventID of the theft a recovery event ends.
pub(super) const THEFT_EVENT_ID: &str = "theftEventID";

fn theft_named(e: &ValidEvent) -> Option<&str> {
    e.fields
        .iter()
        .find(|f| f.name == THEFT_EVENT_ID)
        .and_then(|f| f.value.as_str())
}

pub(super) type Fresh = (usize, ValidEvent, String);

mod plan;

impl Planner {
    fn custodian(&self, h: DeviceHandle) -> Option<i64> {
        let mut h = h;
        // Components follow their parent's custody, as the replay does; a
        // device deeper than the limit has no effective holder.
        for _ in 0..=MAX_ASSEMBLY_DEPTH {
            match self.parent_of.get(&h) {
                Some((p, _)) => h = *p,
                None => return self.devices.get(&h).and_then(|d| d.state.custodian_id),
            }
        }
        None
    }

    fn key_of(&self, h: DeviceHandle) -> String {
        self.devices
            .get(&h)
            .map(|d| format!("{}/{}", d.gtin, d.serial))
            .unwrap_or_default()
    }

    /// The caller's relationship to a device it names, now: it holds it
    /// (directly or through the device it is in), it was shipped to it
    /// (which lets it record only the receipt), or it services it or a
    /// device it is in. None: the device does not exist for the caller,
    /// and is reported exactly like an unknown one. For the manufacturer
    /// every device exists.
    fn standing(&self, h: DeviceHandle, receiving: bool) -> Option<Relationship> {
        if self.role.is_manufacturer() {
            return Some(Relationship::None);
        }
        let d = self.devices.get(&h)?;
        if self.custodian(h) == Some(self.org_id) {
            return Some(Relationship::CurrentCustodian);
        }
        if receiving && d.state.shipped_to_id == Some(self.org_id) {
            return Some(Relationship::ShippedTo);
        }
        // The service partner of the device or of any device it is in.
        let mut current = Some(h);
        for _ in 0..=MAX_ASSEMBLY_DEPTH {
            let Some(c) = current else { break };
            if self
                .devices
                .get(&c)
                .is_some_and(|x| x.service_partner_id == Some(self.org_id))
            {
                return Some(Relationship::ServicePartner);
            }
            current = self.parent_of.get(&c).map(|(p, _)| *p);
        }
        None
    }

    fn may_touch(&self, h: DeviceHandle, receiving: bool) -> bool {
        self.standing(h, receiving).is_some()
    }

    /// The custody state of a device as the intervals record it.
    fn snapshot(&self, h: DeviceHandle) -> Snapshot<DeviceHandle> {
        let parent = self.parent_of.get(&h).map(|(p, _)| *p);
        let state = self.devices.get(&h).map(|d| &d.state);
        Snapshot {
            holder: if parent.is_some() {
                None
            } else {
                state.and_then(|s| s.custodian_id)
            },
            shipped_to: state.and_then(|s| s.shipped_to_id),
            installed_in: parent,
        }
    }

    fn existing(
        &self,
        field: &str,
        d: &DeviceRef,
        receiving: bool,
    ) -> Result<DeviceHandle, (String, String)> {
        let unknown = || (field.to_owned(), format!("unknown device {}", d.key));
        let h = *self.handles.get(&key_str(&d.key)).ok_or_else(unknown)?;
        if !self.may_touch(h, receiving) {
            return Err(unknown());
        }
        if self
            .devices
            .get(&h)
            .is_some_and(|x| x.state.status == status::DECOMMISSIONED)
        {
            return Err((field.to_owned(), format!("{} is decommissioned", d.key)));
        }
        Ok(h)
    }

    pub(super) fn apply(
        &mut self,
        index: usize,
        e: &ValidEvent,
        hash: &str,
    ) -> Result<(), Rejection> {
        let reject = |(field, reason): (String, String)| Rejection {
            index,
            field,
            reason,
        };
        let commissioning = e.is_biz_step(&BizStep::Commissioning);
        let receiving = e.is_biz_step(&BizStep::Receiving);
        // Resolve every device first; nothing changes before all are known.
        let mut epcs = Vec::with_capacity(e.epcs.len());
        let mut created: Vec<DeviceHandle> = Vec::new();
        for d in &e.epcs {
            if commissioning {
                if !self.role.is_manufacturer() {
                    return Err(reject((
                        "epcList".into(),
                        "only the manufacturer commissions devices".into(),
                    )));
                }
                if self.handles.contains_key(&key_str(&d.key)) {
                    return Err(reject((
                        "epcList".into(),
                        format!("{} is already commissioned", d.key),
                    )));
                }
                let Some(&product_id) = self.products.get(d.key.gtin().as_str()) else {
                    return Err(reject((
                        "epcList".into(),
                        format!("no product with GTIN {} is registered", d.key.gtin()),
                    )));
                };
                let h = DeviceHandle::New(self.plan.new_devices.len());
                self.plan.new_devices.push(NewDevice {
                    gtin: d.key.gtin().to_string(),
                    serial: d.key.serial().to_string(),
                    product_id,
                    lot: d.lot.as_ref().map(|l| l.as_str().to_owned()),
                    state: DeviceState {
                        status: status::COMMISSIONED.into(),
                        custodian_id: Some(self.org_id),
                        shipped_to_id: None,
                        revision: e.revision.clone(),
                    },
                });
                self.handles.insert(key_str(&d.key), h);
                created.push(h);
                self.devices.insert(
                    h,
                    Dev {
                        gtin: d.key.gtin().to_string(),
                        serial: d.key.serial().to_string(),
                        service_partner_id: None,
                        state: DeviceState {
                            status: status::COMMISSIONED.into(),
                            custodian_id: Some(self.org_id),
                            shipped_to_id: None,
                            revision: e.revision.clone(),
                        },
                    },
                );
                epcs.push(h);
            } else {
                epcs.push(self.existing("epcList", d, receiving).map_err(reject)?);
            }
        }
        let parent = match &e.parent {
            Some(p) => Some(self.existing("parentID", p, false).map_err(reject)?),
            None => None,
        };
        let mut children = Vec::with_capacity(e.children.len());
        for c in &e.children {
            children.push(self.existing("childEPCs", c, false).map_err(reject)?);
        }
        // What each partner role may capture (docs/device-lifecycle.md,
        // "Who may capture what"), decided by the policy per device.
        for &h in &epcs {
            if let Some(standing) = self.standing(h, receiving)
                && let Some(reason) = policy::capture_refusal(
                    self.role,
                    standing,
                    e.biz_step.as_ref(),
                    e.disposition.as_ref(),
                )
            {
                return Err(reject((
                    "epcList".into(),
                    format!("{}: {reason}", self.key_of(h)),
                )));
            }
        }
        let created: HashSet<DeviceHandle> = created.into_iter().collect();
        let mut before: HashMap<DeviceHandle, Snapshot<DeviceHandle>> = HashMap::new();
        for h in parent.iter().chain(&epcs).chain(&children) {
            let snapshot = if created.contains(h) {
                Snapshot::default()
            } else {
                self.snapshot(*h)
            };
            before.entry(*h).or_insert(snapshot);
        }

        // Component links. A unit reported stolen is neither installed nor
        // removed: its custody stays as it was when it was stolen.
        if let (EventType::Aggregation, Some(p)) = (e.event_type, parent)
            && matches!(e.action, Some(Action::Add) | Some(Action::Delete))
        {
            for &h in children.iter().chain(std::iter::once(&p)) {
                if self
                    .devices
                    .get(&h)
                    .is_some_and(|d| d.state.status == status::STOLEN)
                {
                    return Err(reject((
                        "childEPCs".into(),
                        format!("{} is reported stolen", self.key_of(h)),
                    )));
                }
            }
        }
        if let (EventType::Aggregation, Some(p)) = (e.event_type, parent) {
            match e.action {
                Some(Action::Add) => {
                    for &c in &children {
                        if let Some((current, _)) = self.parent_of.get(&c) {
                            return Err(reject((
                                "childEPCs".into(),
                                // Name the other device only to those who may
                                // see it.
                                if self.may_touch(*current, false) {
                                    format!(
                                        "{} is installed in {}",
                                        self.key_of(c),
                                        self.key_of(*current)
                                    )
                                } else {
                                    format!("{} is installed in another device", self.key_of(c))
                                },
                            )));
                        }
                        let mut up = Some(p);
                        let mut levels = 0;
                        while let Some(a) = up {
                            if a == c {
                                return Err(reject((
                                    "childEPCs".into(),
                                    format!("{} contains {}", self.key_of(c), self.key_of(p)),
                                )));
                            }
                            levels += 1;
                            if levels > MAX_ASSEMBLY_DEPTH {
                                return Err(reject((
                                    "parentID".into(),
                                    format!(
                                        "{} has {MAX_ASSEMBLY_DEPTH} devices above it or more; an assembly nests at most {MAX_ASSEMBLY_DEPTH} deep",
                                        self.key_of(p)
                                    ),
                                )));
                            }
                            up = self.parent_of.get(&a).map(|(x, _)| *x);
                        }
                    }
                    let holder = self.custodian(p);
                    if !self.role.is_manufacturer() {
                        for &c in &children {
                            let child_holder = self.custodian(c);
                            if child_holder != holder && child_holder != Some(self.org_id) {
                                return Err(reject((
                                    "childEPCs".into(),
                                    format!(
                                        "{} is held by another organisation than {}; only its holder moves it",
                                        self.key_of(c),
                                        self.key_of(p)
                                    ),
                                )));
                            }
                        }
                    }
                    for &c in &children {
                        let link = self.plan.new_links.len();
                        self.plan.new_links.push(NewLink {
                            parent: p,
                            child: c,
                            installed_by: self.plan.events.len(),
                            installed_at: e.event_time,
                            removed: None,
                        });
                        self.parent_of.insert(c, (p, LinkRef::New(link)));
                        if let Some(d) = self.devices.get_mut(&c) {
                            d.state.custodian_id = holder;
                            d.state.shipped_to_id = None;
                        }
                    }
                }
                Some(Action::Delete) => {
                    for &c in &children {
                        match self.parent_of.get(&c) {
                            Some((current, _)) if *current == p => {}
                            _ => {
                                return Err(reject((
                                    "childEPCs".into(),
                                    format!(
                                        "{} is not installed in {}",
                                        self.key_of(c),
                                        self.key_of(p)
                                    ),
                                )));
                            }
                        }
                    }
                    let holder = self.custodian(p);
                    let event_index = self.plan.events.len();
                    for &c in &children {
                        if let Some((_, link)) = self.parent_of.remove(&c) {
                            match link {
                                LinkRef::Existing(id) => {
                                    self.plan.closed_links.push((id, event_index, e.event_time))
                                }
                                LinkRef::New(i) => {
                                    self.plan.new_links[i].removed =
                                        Some((event_index, e.event_time))
                                }
                            }
                        }
                        if let Some(d) = self.devices.get_mut(&c) {
                            d.state.custodian_id = holder;
                        }
                    }
                }
                _ => {}
            }
        }

        // Custody and status of the epcList.
        let destination = if e.is_biz_step(&BizStep::Shipping) {
            // The first entry names the receiver (and the custody replay
            // reads the same entry).
            let found = e
                .destinations
                .first()
                .and_then(|p| self.orgs.get(&p.id).copied());
            match found {
                Some(id) => Some(id),
                None => {
                    return Err(reject((
                        "destinationList".into(),
                        "shipping must name the receiving organisation by its slug in the first destinationList entry".into(),
                    )));
                }
            }
        } else {
            None
        };
        for &h in &epcs {
            let holds = self.custodian(h) == Some(self.org_id);
            let installed = self.parent_of.contains_key(&h);
            let Some(d) = self.devices.get(&h) else {
                continue;
            };
            let (key, shipped_to) = (format!("{}/{}", d.gtin, d.serial), d.state.shipped_to_id);
            let stolen = d.state.status == status::STOLEN;
            if installed && e.disposition == Some(Disposition::Stolen) {
                return Err(reject((
                    "epcList".into(),
                    format!(
                        "{key} is installed in another device: report that one stolen, or record the removal first"
                    ),
                )));
            }
            if stolen && (destination.is_some() || receiving) {
                return Err(reject((
                    "epcList".into(),
                    format!("{key} is reported stolen; record its recovery first"),
                )));
            }
            if e.biz_step.as_ref().is_some_and(BizStep::is_recovering) {
                if !stolen {
                    return Err(reject((
                        "epcList".into(),
                        format!("{key} is not reported stolen"),
                    )));
                }
                let ends = theft_named(e)
                    .and_then(|id| self.thefts.get(id))
                    .is_some_and(|devices| devices.contains(&h));
                if !ends {
                    return Err(reject((
                        THEFT_EVENT_ID.into(),
                        format!(
                            "a recovery names the eventID of the theft report of {key} it ends"
                        ),
                    )));
                }
            }
            if let Some(dest) = destination {
                if !self.role.is_manufacturer() && !holds {
                    return Err(reject(("epcList".into(), format!("you do not hold {key}"))));
                }
                if installed {
                    return Err(reject((
                        "epcList".into(),
                        format!("{key} is installed in another device; ship that one"),
                    )));
                }
                if let Some(d) = self.devices.get_mut(&h) {
                    d.state.shipped_to_id = Some(dest);
                }
            }
            if e.is_biz_step(&BizStep::Receiving) {
                if !self.role.is_manufacturer() && shipped_to != Some(self.org_id) && !holds {
                    return Err(reject((
                        "epcList".into(),
                        format!("{key} was not shipped to you"),
                    )));
                }
                if let Some(d) = self.devices.get_mut(&h) {
                    d.state.custodian_id = Some(self.org_id);
                    d.state.shipped_to_id = None;
                }
            }
            if let Some(d) = self.devices.get_mut(&h)
                && let Some(s) =
                    status_after(&d.state.status, e.biz_step.as_ref(), e.disposition.as_ref())
            {
                d.state.status = s.to_owned();
            }
        }

        // The event itself.
        let fields = super::stored_fields(e, &self.org_slug, &self.operator);
        let mut devices: Vec<(DeviceHandle, &'static str)> = Vec::new();
        let mut listed: HashSet<DeviceHandle> = HashSet::new();
        for (hs, role) in [
            (parent.into_iter().collect::<Vec<_>>(), "parent"),
            (epcs, "epc"),
            (children, "child"),
        ] {
            for h in hs {
                if listed.insert(h) {
                    devices.push((h, role));
                }
            }
        }
        if e.disposition == Some(Disposition::Stolen) {
            self.thefts.entry(e.event_id.clone()).or_default().extend(
                devices
                    .iter()
                    .filter(|(_, role)| *role == "epc")
                    .map(|(h, _)| *h),
            );
        }
        // The custody intervals this event opens and closes: the difference
        // between each device's state before and after it.
        let event_index = self.plan.events.len();
        let position: HashMap<DeviceHandle, usize> = devices
            .iter()
            .enumerate()
            .map(|(j, (h, _))| (*h, j))
            .collect();
        for (j, (h, _)) in devices.iter().enumerate() {
            let Some(before) = before.get(h) else {
                continue;
            };
            for (kind, party) in changes(before, &self.snapshot(*h)) {
                let party = match party {
                    None => None,
                    Some(Party::Organisation(o)) => Some(Party::Organisation(o)),
                    Some(Party::Device(p)) => match position.get(&p) {
                        Some(i) => Some(Party::Device(*i)),
                        None => continue,
                    },
                };
                self.plan.custody.push(CustodyChange {
                    event: event_index,
                    device: j,
                    existing: matches!(h, DeviceHandle::Existing(_)),
                    kind,
                    party,
                });
            }
        }
        self.plan.events.push(NewEvent {
            event_id: e.event_id.clone(),
            event_type: e.event_type.as_str().into(),
            action: e.action.map(|a| a.as_str().into()),
            biz_step: e.biz_step_str().map(str::to_owned),
            disposition: e.disposition_str().map(str::to_owned),
            event_time: e.event_time,
            event_time_zone_offset: e.event_time_zone_offset.clone(),
            read_point: e.read_point.clone(),
            biz_location: e.biz_location.clone(),
            organisation_id: self.org_id,
            operator: self.operator.clone(),
            canonical_hash: hash.to_owned(),
            fields,
            devices,
        });
        Ok(())
    }
}
