//! A device's status, set by events only (docs/device-lifecycle.md,
//! "Status"). Stored and sent as its name (`in_stock`).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceStatus {
    Commissioned,
    InTransit,
    InStock,
    Installed,
    InRepair,
    Returned,
    Recalled,
    Stolen,
    Decommissioned,
}

impl DeviceStatus {
    pub const ALL: [DeviceStatus; 9] = [
        DeviceStatus::Commissioned,
        DeviceStatus::InTransit,
        DeviceStatus::InStock,
        DeviceStatus::Installed,
        DeviceStatus::InRepair,
        DeviceStatus::Returned,
        DeviceStatus::Recalled,
        DeviceStatus::Stolen,
        DeviceStatus::Decommissioned,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Commissioned => "commissioned",
            DeviceStatus::InTransit => "in_transit",
            DeviceStatus::InStock => "in_stock",
            DeviceStatus::Installed => "installed",
            DeviceStatus::InRepair => "in_repair",
            DeviceStatus::Returned => "returned",
            DeviceStatus::Recalled => "recalled",
            DeviceStatus::Stolen => "stolen",
            DeviceStatus::Decommissioned => "decommissioned",
        }
    }
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeviceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeviceStatus::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = DeviceStatus::ALL.iter().map(|d| d.as_str()).collect();
                format!("unknown status {s:?}; expected one of {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in DeviceStatus::ALL {
            assert_eq!(s.as_str().parse::<DeviceStatus>(), Ok(s));
        }
        assert!("lost".parse::<DeviceStatus>().is_err());
    }
}
