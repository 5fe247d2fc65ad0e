//! Diesel's view of the tables, shared by both backends (`migrations/{sqlite,postgres}`).

diesel::table! {
    units (code) {
        code -> Text,
        scale -> Integer,
        kind -> Text,
        issuer -> Nullable<Text>,
        value -> Nullable<Text>,
        created_at_us -> BigInt,
    }
}

diesel::table! {
    partners (id) {
        id -> Text,
        name -> Text,
        created_at_us -> BigInt,
    }
}

diesel::table! {
    entries (seq) {
        seq -> BigInt,
        id -> Text,
        kind -> Text,
        created_at_us -> BigInt,
        partner -> Nullable<Text>,
        member -> Nullable<Text>,
        reference -> Nullable<Text>,
        reverses -> Nullable<Text>,
        key_id -> Nullable<Text>,
        signature -> Nullable<Text>,
        memo -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    postings (entry_seq, line) {
        entry_seq -> BigInt,
        line -> Integer,
        account -> Text,
        unit -> Text,
        amount_minor -> BigInt,
    }
}

diesel::table! {
    accounts (name) {
        name -> Text,
        kind -> Text,
        unit -> Text,
        balance_minor -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(units, partners, entries, postings, accounts);
