//! sea-orm entities: the shapes of the tables that `migrations` creates, and
//! nothing else. No logic and no API types live here — `server/src/store`
//! maps rows to domain values, so the wire shape is never the table shape.

pub mod alert;
pub mod anchor_leaf;
pub mod change_stamp;
pub mod checkpoint;
pub mod component_link;
pub mod custody_interval;
pub mod data_step;
pub mod device;
pub mod erased_commitment;
pub mod erasure;
pub mod event;
pub mod event_declaration;
pub mod event_device;
pub mod event_field;
pub mod leaf;
pub mod location;
pub mod log_head;
pub mod organisation;
pub mod product;
pub mod region;
pub mod region_country;
pub mod scan_count;
pub mod tile;
pub mod warranty_assignment;
