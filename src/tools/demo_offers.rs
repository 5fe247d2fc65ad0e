//! The demo's touch points, segments, targeted offer and rewards: the seeds' classic example —
//! Aroma sponsors a coupon redeemable at the bookstore for its members who never visited the
//! bookstore — end to end, a review thanked once a day, a workshop claimed and fulfilled, and
//! Aroma's insights.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::demo_client::Partner;
use crate::clearing::Clearing;

/// Runs the segment worker now (the service runs it every second; the demo wants its answer).
fn evaluate(clearing: &Clearing, insights: bool) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if insights {
            clearing.refresh_insights().await
        } else {
            clearing.evaluate_segments().await
        }
    })?;
    Ok(())
}

fn text(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn bearer(agent: &ureq::Agent, url: &str, token: &str, body: Option<Value>) -> Result<Value> {
    let auth = format!("Bearer {token}");
    let mut response = match body {
        Some(b) => agent
            .post(url)
            .header("Authorization", &auth)
            .send_json(b)?,
        None => agent.get(url).header("Authorization", &auth).call()?,
    };
    Ok(response.body_mut().read_json()?)
}

pub(super) fn offers(
    aroma: &Partner<'_>,
    books: &Partner<'_>,
    agent: &ureq::Agent,
    url: &dyn Fn(&str) -> String,
    clearing: &Clearing,
    dana: &str,
) -> Result<()> {
    println!("\n14. Touch points, a segment, a targeted offer and a workshop (docs/offers.md).");
    let (noa, segment_id) = segment(aroma, clearing, dana)?;
    let now = crate::ledger::clock::Clock::system().now_secs();
    let at = |s: i64| jiff::Timestamp::from_second(s).map(|t| t.to_string());
    let campaign = aroma.expect(
        "/v1/campaigns",
        json!({ "name": "Your first book is on us", "redeemable_at": ["books"],
                "benefit": { "kind": "amount", "value": "15.00" }, "currency": "ILS", "budget": "30.00",
                "valid_from": at(now - 60)?, "valid_until": at(now + 30 * 86_400)?,
                "audience": { "segment_id": segment_id }, "auto_issue": true }),
        201,
    )?;
    let campaign_id = text(&campaign, "campaign_id");
    evaluate(clearing, false)?;
    let token = aroma.expect(&format!("/v1/members/{noa}/tokens"), json!({}), 201)?;
    let wallet = bearer(agent, &url("/v1/me/wallet"), &text(&token, "token"), None)?;
    let code = wallet["coupons"][0]["code"]
        .as_str()
        .context("Noa's targeted coupon")?
        .to_owned();
    println!(
        "    Aroma's targeted offer (budget 30.00, auto_issue): Noa's wallet holds coupon {code}, 15.00 off at the bookstore."
    );
    let used = books.expect(
        &format!("/v1/coupons/{code}/redemptions"),
        json!({ "purchase_amount": "60.00", "reference": "books-pos-4410" }),
        201,
    )?;
    let view = aroma.send("GET", &format!("/v1/campaigns/{campaign_id}"), None, None)?;
    println!(
        "    She shows it at the bookstore (no link needed): {} off; the campaign has issued {}, redeemed {}, {} left — Aroma pays the bookstore {} at settlement.",
        text(&used, "discount"),
        view.body["coupons"]["issued"],
        view.body["coupons"]["redeemed"],
        text(&view.body, "remaining"),
        text(&used, "discount"),
    );

    workshop(books, agent, url, dana)?;
    insights(aroma, clearing)
}

/// Noa, an Aroma member who never went to the bookstore, her reviews, and Aroma's segment that
/// finds her: her id and the segment's.
fn segment(aroma: &Partner<'_>, clearing: &Clearing, dana: &str) -> Result<(String, String)> {
    let noa = aroma.expect(
        "/v1/members",
        json!({ "external_id": "aroma-noa", "consent": { "share_balances": false, "share_profile": true } }),
        201,
    )?;
    let noa = noa["member_id"].as_str().context("member id")?.to_owned();
    aroma.expect(
        "/v1/earn",
        json!({ "member_id": noa, "reference": "aroma-pos-2001",
                "purchase": { "amount": "24.00", "currency": "ILS" } }),
        201,
    )?;
    let review = |reference: &str| {
        aroma.expect(
            "/v1/interactions",
            json!({ "member_id": noa, "kind": "review", "reference": reference }),
            201,
        )
    };
    let first = review("review-881")?;
    let second = review("review-882")?;
    println!(
        "    Noa (Aroma only; she shares her profile) reviews her coffee twice: {} AROMA by rule review-thanks, then {} (once a day).",
        text(&first, "points"),
        second["points"].as_str().unwrap_or("nothing")
    );
    let segment = aroma.expect(
        "/v1/segments",
        json!({ "name": "Aroma regulars who never visited the bookstore", "all": [
            { "metric": "visits_90d", "op": "ge", "value": 1 },
            { "metric": "visited:books", "op": "eq", "value": false } ] }),
        201,
    )?;
    let segment_id = text(&segment, "segment_id");
    evaluate(clearing, false)?;
    let members = aroma.send(
        "GET",
        &format!("/v1/segments/{segment_id}/members"),
        None,
        None,
    )?;
    let size = aroma.send("GET", &format!("/v1/segments/{segment_id}"), None, None)?;
    let listed: Vec<&str> = members.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["member_id"].as_str())
        .collect();
    println!(
        "    Aroma's segment \"{}\": size {} (under 10 is never shown exactly); Noa in it: {}; Dana (bought at the bookstore) in it: {}",
        text(&segment, "name"),
        text(&size.body, "size"),
        listed.contains(&noa.as_str()),
        listed.contains(&dana)
    );
    Ok((noa, segment_id))
}

/// The bookstore's workshop: offered, claimed by Dana with the bookstore's token, fulfilled, and
/// her attendance a touch point that earns.
fn workshop(
    books: &Partner<'_>,
    agent: &ureq::Agent,
    url: &dyn Fn(&str) -> String,
    dana: &str,
) -> Result<()> {
    let workshop = books.expect(
        "/v1/rewards",
        json!({ "name": "Reading workshop with the author", "description": "An evening at the Dizengoff store",
                "unit": "PAGES", "points": "100", "capacity": 12 }),
        201,
    )?;
    let reward_id = text(&workshop, "reward_id");
    let books_token = books.expect(
        &format!("/v1/members/{dana}/tokens"),
        json!({ "scope": ["rewards"] }),
        201,
    )?;
    let claim = bearer(
        agent,
        &url(&format!("/v1/me/rewards/{reward_id}/claims")),
        &text(&books_token, "token"),
        Some(json!({})),
    )?;
    let claim_code = text(&claim, "claim_code");
    if claim["status"] != "claimed" {
        bail!("the workshop claim failed: {claim}");
    }
    let came = books.expect(
        &format!("/v1/rewards/{reward_id}/claims/{claim_code}/fulfil"),
        json!({}),
        200,
    )?;
    let came_too = books.expect(
        "/v1/interactions",
        json!({ "member_id": dana, "kind": "workshop", "reference": "workshop-dizengoff" }),
        201,
    )?;
    println!(
        "    The bookstore's workshop (100 PAGES, 12 places): Dana claims place {claim_code} ({} PAGES spent), comes ({}), and earns {} PAGES for attending.",
        claim["receipt"]["points"].as_str().unwrap_or(""),
        text(&came, "status"),
        text(&came_too, "points")
    );
    Ok(())
}

/// Aroma's insights after the daily pass.
fn insights(aroma: &Partner<'_>, clearing: &Clearing) -> Result<()> {
    evaluate(clearing, true)?;
    let insights = aroma.send("GET", "/v1/insights", None, None)?;
    let overlap: Vec<String> = insights.body["cross_brand"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| format!("{} {}", text(o, "partner"), text(o, "shared_members")))
        .collect();
    println!(
        "    Aroma's insights (GET /v1/insights): {} active members, {} visits in 30 days; overlap {}; campaign redemption rate {}",
        text(&insights.body, "active_members_30d"),
        text(&insights.body, "visits_30d"),
        if overlap.is_empty() {
            "none".to_owned()
        } else {
            overlap.join(", ")
        },
        insights.body["campaigns"][0]["redemption_rate"]
            .as_str()
            .unwrap_or("-")
    );
    Ok(())
}
