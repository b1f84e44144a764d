//! The Alerts view: alerts firing and pending (acknowledge, silence), the history of
//! status changes, and recommendations read from the data.

use crate::api;
use crate::components::{loaded, panel_skeleton};
use crate::format::{format_age, format_utc};
use crate::view_scope::{scoped_resource, use_view_scope};
use leptos::prelude::*;
use leptos::task::spawn_local;
use perfscope_model::{AlertInfo, AlertStatus, AlertTransition, Recommendation};

fn status_name(status: AlertStatus) -> &'static str {
    match status {
        AlertStatus::Inactive => "inactive",
        AlertStatus::Pending => "pending",
        AlertStatus::Firing => "firing",
        AlertStatus::Resolved => "resolved",
    }
}

fn value_text(value: Option<f64>) -> String {
    value.map_or_else(
        || "–".to_owned(),
        |v| {
            format!("{v:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        },
    )
}

#[component]
pub fn Alerts() -> impl IntoView {
    let alerts = scoped_resource(|_| api::fetch_alerts());
    let history = scoped_resource(|_| api::fetch_alert_history());
    let recommendations = scoped_resource(api::fetch_recommendations);
    let notice = RwSignal::new(None::<String>);
    view! {
        <div class="alerts-view">
            <div class="page-head">
                <h1>"Alerts"</h1>
                <p class="page-sub">"Rules watching vitals, API latency, cache and host."</p>
            </div>
            <p class="notice" role="status" aria-live="polite">{move || notice.get()}</p>
            // The three lists arrive together: one list growing would push the others
            // down after they were painted.
            <Show when=move || alerts.get().is_some() && history.get().is_some() && recommendations.get().is_some() fallback=panel_skeleton>
            <section class="summary-section" aria-labelledby="active-heading">
                <h2 id="active-heading">"Firing and pending"</h2>
                {loaded(
                    "Could not load the alerts",
                    alerts,
                    move |list| active_table(list.unwrap_or_default(), alerts, notice),
                )}
            </section>
            <section class="summary-section" aria-labelledby="history-heading">
                <h2 id="history-heading">"History"</h2>
                {loaded("Could not load the alert history", history, |list| history_table(list.unwrap_or_default()))}
            </section>
            <section class="summary-section" aria-labelledby="recommendations-heading">
                <h2 id="recommendations-heading">"Recommendations"</h2>
                {loaded(
                    "Could not load the recommendations",
                    recommendations,
                    |list| recommendation_list(list.unwrap_or_default()),
                )}
            </section>
            </Show>
        </div>
    }
}

fn active_table(
    list: Vec<AlertInfo>,
    alerts: LocalResource<Result<Option<Vec<AlertInfo>>, api::ApiError>>,
    notice: RwSignal<Option<String>>,
) -> AnyView {
    let scope = use_view_scope();
    let now = scope.now.get_untracked();
    let active: Vec<AlertInfo> = list
        .into_iter()
        .filter(|a| matches!(a.status, AlertStatus::Firing | AlertStatus::Pending))
        .collect();
    if active.is_empty() {
        return view! { <p class="section-note">"No alert is firing or pending."</p> }.into_any();
    }
    let rows = active
        .into_iter()
        .map(|alert| {
            let rule = alert.rule_id.clone();
            let site = alert.site.clone();
            let acknowledge = {
                let (rule, site) = (rule.clone(), site.clone());
                move |_| {
                    let (rule, site) = (rule.clone(), site.clone());
                    spawn_local(async move {
                        let text = match api::acknowledge_alert(&rule, &site).await {
                            Ok(()) => format!("Acknowledged {rule}."),
                            Err(err) => format!("Could not acknowledge {rule}: {err}"),
                        };
                        notice.set(Some(text));
                        alerts.refetch();
                    });
                }
            };
            let minutes = RwSignal::new(60u64);
            let silence = {
                let (rule, site) = (rule.clone(), site.clone());
                move |_| {
                    let (rule, site) = (rule.clone(), site.clone());
                    let minutes = minutes.get_untracked();
                    spawn_local(async move {
                        let text = match api::silence_alert(&rule, &site, minutes).await {
                            Ok(()) => format!("Silenced {rule} for {minutes} minutes."),
                            Err(err) => format!("Could not silence {rule}: {err}"),
                        };
                        notice.set(Some(text));
                        alerts.refetch();
                    });
                }
            };
            let status = status_name(alert.status);
            let select_id = format!("silence-{}-{}", alert.rule_id, alert.site);
            let silenced = alert
                .silenced_until_ms
                .filter(|until| *until > now)
                .map(|until| format!("Silenced until {}", format_utc(until)));
            view! {
                <tr class=format!("alert-row status-{status}") data-rule=alert.rule_id.clone()>
                    <td><strong>{alert.rule_id.clone()}</strong></td>
                    <td>{alert.site.clone()}</td>
                    <td>{status}</td>
                    <td>{format!("{:?}", alert.severity).to_ascii_lowercase()}</td>
                    <td class="num">{value_text(alert.value)} " / " {value_text(Some(alert.threshold))}</td>
                    <td>{format_age(alert.since_ms, now)}</td>
                    <td class="alert-actions">
                        {if alert.acknowledged {
                            view! { <span class="badge">"Acknowledged"</span> }.into_any()
                        } else {
                            view! { <button type="button" on:click=acknowledge>"Acknowledge"</button> }.into_any()
                        }}
                        <label class="visually-hidden" for=select_id.clone()>"Silence for"</label>
                        <select id=select_id on:change=move |ev| {
                            if let Ok(m) = event_target_value(&ev).parse() {
                                minutes.set(m);
                            }
                        }>
                            <option value="60">"1 hour"</option>
                            <option value="240">"4 hours"</option>
                            <option value="1440">"1 day"</option>
                            <option value="10080">"7 days"</option>
                        </select>
                        <button type="button" on:click=silence>"Silence"</button>
                        {silenced.map(|text| view! { <span class="badge">{text}</span> })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Active alerts">
            <table class="data-table alert-table">
                <thead>
                    <tr>
                        <th scope="col">"Rule"</th>
                        <th scope="col">"Site"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Severity"</th>
                        <th scope="col" class="num">"Value / threshold"</th>
                        <th scope="col">"Since"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn history_table(list: Vec<AlertTransition>) -> AnyView {
    if list.is_empty() {
        return view! { <p class="section-note">"No alert has changed status yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Alert history">
            <table class="data-table history-table">
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Rule"</th>
                        <th scope="col">"Site"</th>
                        <th scope="col">"Change"</th>
                        <th scope="col" class="num">"Value"</th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|t| {
                            view! {
                                <tr class="history-row">
                                    <td>{format_utc(t.ts_ms)}</td>
                                    <td>{t.rule_id}</td>
                                    <td>{t.site}</td>
                                    <td>{status_name(t.from)} " → " {status_name(t.to)}</td>
                                    <td class="num">{value_text(t.value)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn recommendation_list(list: Vec<Recommendation>) -> AnyView {
    if list.is_empty() {
        return view! { <p class="section-note">"Nothing to recommend for this range."</p> }
            .into_any();
    }
    view! {
        <ul class="recommendations">
            {list
                .into_iter()
                .map(|r| view! { <li data-kind=r.kind>{r.message}</li> })
                .collect_view()}
        </ul>
    }
    .into_any()
}
