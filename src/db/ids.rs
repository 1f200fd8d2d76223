//! Typed ids, so that an agent id can never be passed where a task id is
//! expected.

use diesel_derive_newtype::DieselNewType;
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DieselNewType, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i32);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// The number a field agent types at the start of a booking SMS.
    AgentId
);
id_type!(CorporationId);
id_type!(FacilityId);
id_type!(CaseTypeId);
id_type!(BeneficiaryId);
id_type!(SlotSeriesId);
id_type!(SlotId);
id_type!(TaskId);
id_type!(InboundId);
id_type!(OutboundId);
id_type!(FlagId);
id_type!(
    /// A WhatsApp user who has written to the NGO.
    ClientId
);
id_type!(ClientRequestId);
id_type!(ChatMessageId);
id_type!(ChatFileId);
