//! The kinds and statuses the store keeps as text, as enums: read rows parse them (a value the
//! service never writes is corruption, not a new state), written rows use `as_str`.

use std::fmt;
use std::str::FromStr;

/// A stored kind or status that is none of its enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {text:?} is not one the service writes")]
pub struct UnknownText {
    pub what: &'static str,
    pub text: String,
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownText;
            fn from_str(text: &str) -> Result<Self, UnknownText> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| UnknownText {
                        what: stringify!($name),
                        text: text.chars().take(40).collect(),
                    })
            }
        }

        /// How diesel writes the column (`serialize_as = String`).
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_owned()
            }
        }

        /// How diesel reads the column (`deserialize_as = String`).
        impl TryFrom<String> for $name {
            type Error = UnknownText;
            fn try_from(text: String) -> Result<Self, UnknownText> {
                text.parse()
            }
        }
    };
}

text_enum! {
    /// What an operation records: the mutable side of an earn, a redemption, a hold or a capture.
    OperationKind { Earn = "earn", Redemption = "redemption", Hold = "hold", Capture = "capture" }
}

text_enum! {
    /// Where an operation stands. An earn or redemption is `posted` (a redemption captured at
    /// once is `captured`), `reversed` once nothing is left to reverse; a hold is `pending` until
    /// it is `captured`, `voided` or `expired`.
    OperationStatus {
        Posted = "posted",
        Captured = "captured",
        Pending = "pending",
        Voided = "voided",
        Expired = "expired",
        Reversed = "reversed",
    }
}

text_enum! {
    /// Where a coupon stands: `issued` until it is `redeemed`, `expired` or `voided`.
    CouponStatus { Issued = "issued", Redeemed = "redeemed", Expired = "expired", Voided = "voided" }
}

text_enum! {
    /// Where a settlement cycle stands: `open` until a position is paid, `partially_paid` until
    /// every one is, then `settled`.
    SettlementStatus { Open = "open", PartiallyPaid = "partially_paid", Settled = "settled" }
}

text_enum! {
    /// What an entry's receipt says of it now: its operation's status, a coupon's redemption, or
    /// the settlement a payment went to.
    EntryStatus {
        Posted = "posted",
        Captured = "captured",
        Pending = "pending",
        Voided = "voided",
        Expired = "expired",
        Reversed = "reversed",
        Redeemed = "redeemed",
        PartiallyPaid = "partially_paid",
        Settled = "settled",
    }
}

impl From<OperationStatus> for EntryStatus {
    fn from(s: OperationStatus) -> Self {
        match s {
            OperationStatus::Posted => EntryStatus::Posted,
            OperationStatus::Captured => EntryStatus::Captured,
            OperationStatus::Pending => EntryStatus::Pending,
            OperationStatus::Voided => EntryStatus::Voided,
            OperationStatus::Expired => EntryStatus::Expired,
            OperationStatus::Reversed => EntryStatus::Reversed,
        }
    }
}

impl From<CouponStatus> for EntryStatus {
    fn from(s: CouponStatus) -> Self {
        match s {
            CouponStatus::Issued => EntryStatus::Posted,
            CouponStatus::Redeemed => EntryStatus::Redeemed,
            CouponStatus::Expired => EntryStatus::Expired,
            CouponStatus::Voided => EntryStatus::Voided,
        }
    }
}

impl From<SettlementStatus> for EntryStatus {
    fn from(s: SettlementStatus) -> Self {
        match s {
            SettlementStatus::Open => EntryStatus::Posted,
            SettlementStatus::PartiallyPaid => EntryStatus::PartiallyPaid,
            SettlementStatus::Settled => EntryStatus::Settled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_and_nothing_else_does() {
        for k in OperationKind::ALL {
            assert_eq!(k.as_str().parse::<OperationKind>(), Ok(*k));
        }
        for s in OperationStatus::ALL {
            assert_eq!(s.to_string().parse::<OperationStatus>(), Ok(*s));
        }
        for s in CouponStatus::ALL {
            assert_eq!(CouponStatus::try_from(s.as_str().to_owned()), Ok(*s));
        }
        for s in SettlementStatus::ALL {
            assert_eq!(s.as_str().parse::<SettlementStatus>(), Ok(*s));
        }
        for s in OperationStatus::ALL {
            assert_eq!(EntryStatus::from(*s).as_str(), s.as_str());
        }
        assert!("Pending".parse::<OperationStatus>().is_err());
        assert!("".parse::<CouponStatus>().is_err());
    }
}
