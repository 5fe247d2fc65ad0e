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

diesel::table! {
    members (id) {
        id -> Text,
        share_balances -> Integer,
        created_at_us -> BigInt,
        share_profile -> Integer,
        erased_at_us -> Nullable<BigInt>,
    }
}

diesel::table! {
    member_links (partner, external_id) {
        partner -> Text,
        external_id -> Text,
        member_id -> Text,
        created_at_us -> BigInt,
        share_balances -> Integer,
        share_profile -> Integer,
    }
}

diesel::table! {
    idempotency_keys (partner, idem_key) {
        partner -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status -> Integer,
        body -> Text,
        created_at_us -> BigInt,
        member_id -> Nullable<Text>,
    }
}

diesel::table! {
    operations (entry_id) {
        entry_id -> Text,
        kind -> Text,
        partner -> Text,
        member_id -> Text,
        unit -> Text,
        points_minor -> BigInt,
        reversed_minor -> BigInt,
        status -> Text,
        expires_at_us -> Nullable<BigInt>,
        closed_by -> Nullable<Text>,
        created_at_us -> BigInt,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Text,
        sponsor -> Text,
        currency -> Text,
        terms -> Text,
        budget_minor -> BigInt,
        reserved_minor -> BigInt,
        used_minor -> BigInt,
        issued_count -> BigInt,
        redeemed_count -> BigInt,
        valid_from_us -> BigInt,
        valid_until_us -> BigInt,
        trigger_partner -> Nullable<Text>,
        trigger_min_minor -> Nullable<BigInt>,
        created_at_us -> BigInt,
    }
}

diesel::table! {
    coupons (code) {
        code -> Text,
        campaign_id -> Text,
        member_id -> Nullable<Text>,
        status -> Text,
        reserved_minor -> BigInt,
        expires_at_us -> BigInt,
        redemption_entry -> Nullable<Text>,
        discount_minor -> Nullable<BigInt>,
        redeemed_by -> Nullable<Text>,
        redeemed_for -> Nullable<Text>,
        created_at_us -> BigInt,
    }
}

diesel::table! {
    authorizations (code) {
        code -> Text,
        member_id -> Text,
        partner -> Text,
        unit -> Text,
        max_minor -> BigInt,
        used_minor -> BigInt,
        expires_at_us -> BigInt,
        created_at_us -> BigInt,
    }
}

diesel::table! {
    settlements (id) {
        id -> Text,
        cutoff_us -> BigInt,
        first_seq -> BigInt,
        last_seq -> BigInt,
        currency -> Text,
        status -> Text,
        created_at_us -> BigInt,
    }
}

diesel::table! {
    settlement_positions (settlement_id, party) {
        settlement_id -> Text,
        party -> Text,
        net_minor -> BigInt,
        paid_minor -> BigInt,
    }
}

diesel::table! {
    settlement_obligations (settlement_id, debtor, creditor) {
        settlement_id -> Text,
        debtor -> Text,
        creditor -> Text,
        amount_minor -> BigInt,
    }
}

diesel::table! {
    cards (number) {
        number -> Text,
        member_id -> Text,
        issued_at_us -> BigInt,
        revoked_at_us -> Nullable<BigInt>,
    }
}

diesel::table! {
    link_codes (code) {
        code -> Text,
        member_id -> Text,
        partner -> Text,
        expires_at_us -> BigInt,
        used_at_us -> Nullable<BigInt>,
        created_at_us -> BigInt,
    }
}

diesel::table! {
    member_profiles (member_id, partner) {
        member_id -> Text,
        partner -> Text,
        visits -> BigInt,
        spend_minor -> BigInt,
        earned_minor -> BigInt,
        redeemed_minor -> BigInt,
        first_seen_us -> BigInt,
        last_seen_us -> BigInt,
    }
}

diesel::table! {
    member_profile_days (member_id, partner, day) {
        member_id -> Text,
        partner -> Text,
        day -> Integer,
        visits -> BigInt,
        spend_minor -> BigInt,
        earned_minor -> BigInt,
        redeemed_minor -> BigInt,
    }
}

diesel::table! {
    aggregate_builds (name) {
        name -> Text,
        built_at_us -> BigInt,
        entries -> BigInt,
    }
}

diesel::table! {
    member_tiers (member_id) {
        member_id -> Text,
        tier -> Text,
        tier_rank -> Integer,
        since_us -> BigInt,
        below_since_us -> Nullable<BigInt>,
        paid_tier -> Nullable<Text>,
        paid_until_us -> Nullable<BigInt>,
    }
}

diesel::table! {
    tier_changes (member_id, seq) {
        member_id -> Text,
        seq -> Integer,
        at_us -> BigInt,
        tier -> Text,
        reason -> Text,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Text,
        member_id -> Text,
        partner -> Text,
        tier -> Text,
        price_minor -> BigInt,
        entry_id -> Text,
        starts_at_us -> BigInt,
        ends_at_us -> BigInt,
        created_at_us -> BigInt,
        cancelled_at_us -> Nullable<BigInt>,
        refund_entry_id -> Nullable<Text>,
    }
}

diesel::table! {
    interactions (id) {
        id -> Text,
        partner -> Text,
        member_id -> Text,
        kind -> Text,
        reference -> Text,
        at_us -> BigInt,
        occurred_at -> Nullable<Text>,
        entry_id -> Nullable<Text>,
    }
}

diesel::table! {
    member_interaction_days (member_id, partner, kind, day) {
        member_id -> Text,
        partner -> Text,
        kind -> Text,
        day -> Integer,
        count -> BigInt,
    }
}

diesel::table! {
    interaction_awards (member_id, partner, rule_id, day) {
        member_id -> Text,
        partner -> Text,
        rule_id -> Text,
        day -> Integer,
        awards -> BigInt,
    }
}

diesel::table! {
    segments (id) {
        id -> Text,
        owner -> Nullable<Text>,
        name -> Text,
        definition -> Text,
        size -> BigInt,
        entered_total -> BigInt,
        created_at_us -> BigInt,
        evaluated_at_us -> Nullable<BigInt>,
    }
}

diesel::table! {
    segment_members (segment_id, member_id) {
        segment_id -> Text,
        member_id -> Text,
        seq -> BigInt,
        entered_at_us -> BigInt,
    }
}

diesel::table! {
    campaign_audiences (campaign_id) {
        campaign_id -> Text,
        segment_id -> Text,
        auto_issue -> Integer,
        issued_through_seq -> BigInt,
        exhausted_at_us -> Nullable<BigInt>,
    }
}

diesel::table! {
    rewards (id) {
        id -> Text,
        partner -> Text,
        name -> Text,
        description -> Text,
        unit -> Text,
        price_minor -> BigInt,
        capacity -> BigInt,
        claimed -> BigInt,
        starts_at_us -> Nullable<BigInt>,
        ends_at_us -> Nullable<BigInt>,
        created_at_us -> BigInt,
    }
}

diesel::table! {
    reward_claims (code) {
        code -> Text,
        reward_id -> Text,
        member_id -> Text,
        status -> Text,
        entry_id -> Text,
        refund_entry_id -> Nullable<Text>,
        created_at_us -> BigInt,
        closed_at_us -> Nullable<BigInt>,
    }
}

diesel::table! {
    insights (scope) {
        scope -> Text,
        computed_at_us -> BigInt,
        body -> Text,
    }
}

diesel::table! {
    lots (account, lot_seq) {
        account -> Text,
        lot_seq -> BigInt,
        member_id -> Text,
        unit -> Text,
        earned_at_us -> BigInt,
        clock_us -> BigInt,
        amount_minor -> BigInt,
        remaining_minor -> BigInt,
    }
}

diesel::table! {
    lot_moves (entry_id, account, lot_seq) {
        entry_id -> Text,
        account -> Text,
        lot_seq -> BigInt,
        delta_minor -> BigInt,
        restores -> Nullable<Text>,
    }
}

diesel::table! {
    member_activity (member_id) {
        member_id -> Text,
        last_active_us -> BigInt,
    }
}

diesel::table! {
    issuer_days (account, day) {
        account -> Text,
        unit -> Text,
        day -> Integer,
        earned_minor -> BigInt,
        redeemed_minor -> BigInt,
        expired_minor -> BigInt,
        net_minor -> BigInt,
    }
}

diesel::table! {
    webhook_endpoints (partner_id) {
        partner_id -> Text,
        url -> Text,
        events -> Text,
        created_at_us -> BigInt,
        updated_at_us -> BigInt,
        disabled_at_us -> Nullable<BigInt>,
        disabled_reason -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_events (seq) {
        seq -> BigInt,
        id -> Text,
        partner_id -> Text,
        event_type -> Text,
        entry_id -> Nullable<Text>,
        data -> Nullable<Text>,
        body -> Nullable<Text>,
        created_at_us -> BigInt,
        queued_at_us -> BigInt,
        state -> Text,
        attempts -> Integer,
        next_attempt_us -> BigInt,
        last_attempt_us -> Nullable<BigInt>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        done_at_us -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_attempts (event_seq, attempt) {
        event_seq -> BigInt,
        attempt -> Integer,
        at_us -> BigInt,
        duration_ms -> BigInt,
        status -> Nullable<Integer>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    expiry_notices (member_id, unit, expires_day) {
        member_id -> Text,
        unit -> Text,
        expires_day -> Integer,
        sent_at_us -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    webhook_endpoints,
    webhook_events,
    webhook_attempts,
    expiry_notices,
    lots,
    lot_moves,
    member_activity,
    issuer_days,
    insights,
    rewards,
    reward_claims,
    campaign_audiences,
    interactions,
    member_interaction_days,
    interaction_awards,
    segments,
    segment_members,
    subscriptions,
    member_tiers,
    tier_changes,
    member_profiles,
    member_profile_days,
    aggregate_builds,
    cards,
    link_codes,
    units,
    partners,
    entries,
    postings,
    accounts,
    members,
    member_links,
    idempotency_keys,
    operations,
    campaigns,
    coupons
);
