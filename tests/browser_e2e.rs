//! Browser tests of the staff dashboard in headless Chromium. Each test
//! starts the real server on a loopback port 0 with the demo NGO and a
//! fresh SQLite file, and starts chromedriver on a free loopback port.
//! fantoccini (WebDriver) then drives Chromium through the pages as a
//! person would click through them.
//!
//! Scenarios:
//! - an admin made with `sandesh create-admin` signs in, and an SMS booked
//!   through the webhook shows in the task list;
//! - a flagged booking SMS is listed, then corrected and booked;
//! - an officer's task list has only their corporation's tasks, and
//!   another corporation's task by URL is 404;
//! - an admin creates a facility, an agent and a weekly slot series, and
//!   the new agent's SMS books into that series.
//!
//! The tests are ignored by default because they need Debian's `chromium`
//! and `chromium-driver` packages (`/usr/bin/chromium`,
//! `/usr/bin/chromedriver`). Run them with `.ci/run browser` or
//! `cargo test --test browser_e2e -- --ignored --test-threads=1`. A
//! screenshot of the task list is saved as
//! `target/screenshots/task-list.png`.
//!
//! Chromium runs with background networking, component updates, sync and
//! QUIC turned off. Its host resolver maps every name except `localhost`
//! and `127.0.0.1` to "not found", so the browser sends traffic only to the
//! loopback server.

mod browser_harness;

use fantoccini::Locator;

use browser_harness::*;
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::tasks::Task;

// ------------------------------------------------------------------ tests

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn admin_sees_booked_sms_in_task_list() {
    let server = Server::start().await;
    server.create_admin_with_cli();
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;

    sign_in(&browser, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
    server.wait_for(1, 0).await;
    browser.find(Locator::LinkText("Tasks")).await.expect("Tasks link").click().await.expect("open the task list");
    let list = wait_for_text(&browser, "Seema Devi").await;
    let screenshot = save_screenshot(&browser, "task-list.png").await;
    let task_id = server.task_id_of("Seema Devi").await;
    let task_link = format!("#{task_id}");
    browser.find(Locator::LinkText(&task_link)).await.expect("task link").click().await.expect("open the task");
    let task = wait_for_text(&browser, "12 ANC Seema Devi 9876543210").await;
    browser.close().await.expect("close the browser");

    assert!(list.contains("1 task"), "{list}");
    assert!(list.contains("Wagle HP (WGL)") || list.contains("Kisan Nagar"), "{list}");
    assert!(std::fs::metadata(&screenshot).is_ok_and(|file| file.len() > 1000), "{}", screenshot.display());
    assert!(task.contains("Created as Booked"), "{task}");
    assert!(task.contains("Thane Municipal Corporation"), "{task}");
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn flagged_message_is_visible() {
    let server = Server::start().await;
    server.create_admin_with_cli();
    server.send_sms(THANE_AGENT_PHONE, "12 XYZ Lata Shinde 9876500002").await;
    server.wait_for(0, 1).await;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;

    sign_in(&browser, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.find(Locator::LinkText("Flags")).await.expect("Flags link").click().await.expect("open the flags");
    let flags = wait_for_text(&browser, "12 XYZ Lata Shinde 9876500002").await;
    browser.close().await.expect("close the browser");

    assert!(flags.contains("Unknown case type"), "{flags}");
    assert!(flags.contains("Asha Patil (12)"), "{flags}");
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn officer_sees_only_own_corporation() {
    let server = Server::start().await;
    server.add_thane_officer().await;
    server.send_sms(THANE_AGENT_PHONE, "12 ANC Seema Devi 9876543210").await;
    server.send_sms(MUMBAI_AGENT_PHONE, "15 ANC Rani Kumari 9876500001").await;
    server.wait_for(2, 0).await;
    let mumbai_task = server.task_id_of("Rani Kumari").await;
    let thane_task = server.task_id_of("Seema Devi").await;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;

    sign_in(&browser, &server, OFFICER_EMAIL, OFFICER_PASSWORD).await;
    browser.goto(&server.url("/dashboard/tasks")).await.expect("open the task list");
    let list = wait_for_text(&browser, "Seema Devi").await;
    browser.goto(&server.url(&format!("/dashboard/tasks/{mumbai_task}"))).await.expect("open the Mumbai task");
    let other = wait_for_text(&browser, "Not found").await;
    let title = browser.title().await.expect("page title");
    let status = status_with_session(&browser, &server, &format!("/dashboard/tasks/{mumbai_task}")).await;
    let own_status = status_with_session(&browser, &server, &format!("/dashboard/tasks/{thane_task}")).await;
    browser.close().await.expect("close the browser");

    assert!(list.contains("1 task"), "{list}");
    assert!(!list.contains("Rani Kumari"), "a Mumbai task is listed to a Thane officer:\n{list}");
    assert!(other.contains("There is no such page, or it is not one you can see."), "{other}");
    assert!(!other.contains("Rani Kumari"), "{other}");
    assert!(title.contains("Not found"), "{title}");
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "another corporation's task by URL");
    assert_eq!(own_status, reqwest::StatusCode::OK);
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn flagged_booking_is_corrected_and_booked() {
    let server = Server::start().await;
    server.create_admin_with_cli();
    server.send_sms(THANE_AGENT_PHONE, "12 XYZ Lata Shinde 9876500002").await;
    server.wait_for(0, 1).await;
    let flag_id = server.db(FlaggedMessage::all).await.first().expect("the SMS is flagged").id;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;

    sign_in(&browser, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.goto(&server.url("/dashboard/flags")).await.expect("open the flags");
    wait_for_text(&browser, "12 XYZ Lata Shinde 9876500002").await;
    let correct = format!("Correct and book flag #{flag_id}");
    browser
        .find(Locator::LinkText(&correct))
        .await
        .expect("correct-and-book link")
        .click()
        .await
        .expect("open the form");
    wait_for_text(&browser, &format!("Correct and book flag {flag_id}")).await;
    choose(&browser, "agent", "(12)").await;
    choose(&browser, "case_code", "(ANC)").await;
    fill(&browser, "name", "Lata Shinde").await;
    fill(&browser, "phone", "9876500002").await;
    fill(&browser, "note", "The agent meant ANC; confirmed by phone.").await;
    let task_page = submit_form(&browser, "Lata Shinde").await;
    let task_url = browser.current_url().await.expect("current URL");
    browser.goto(&server.url("/dashboard/flags?view=closed")).await.expect("open the closed flags");
    let closed = wait_for_text(&browser, "The agent meant ANC; confirmed by phone.").await;
    browser.close().await.expect("close the browser");
    let tasks = server.db(Task::all).await;

    assert!(task_url.path().starts_with("/dashboard/tasks/"), "booking leads to the new task: {task_url}");
    assert!(task_page.contains("Booked"), "{task_page}");
    assert_eq!(tasks.len(), 1, "one task was booked");
    assert_eq!(tasks[0].beneficiary_name, "Lata Shinde");
    assert_eq!(tasks[0].beneficiary_phone, "+919876500002");
    assert!(closed.contains("Resolved"), "the flag is resolved: {closed}");
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver; run with .ci/run browser"]
async fn admin_creates_facility_agent_and_series() {
    let server = Server::start().await;
    server.create_admin_with_cli();
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;
    sign_in(&browser, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    browser.goto(&server.url("/dashboard/admin/facilities/new")).await.expect("open the facility form");
    choose(&browser, "corporation", THANE_CORPORATION).await;
    fill(&browser, "name", "Naupada HP").await;
    fill(&browser, "code", "NPD").await;
    fill(&browser, "address", "Gokhale Road, Naupada, Thane").await;
    let facilities = submit_form(&browser, "Naupada HP").await;

    browser.goto(&server.url("/dashboard/admin/agents/new")).await.expect("open the agent form");
    fill(&browser, "id", "31").await;
    fill(&browser, "name", "Kavita More").await;
    fill(&browser, "phone", "98123 45690").await;
    choose(&browser, "language", "English").await;
    tick(&browser, "active", "Active").await;
    tick(&browser, "facilities", "(NPD)").await;
    let agents = submit_form(&browser, "Kavita More").await;

    let zone = server.engine.settings.zone();
    let tomorrow = chrono::Utc::now().with_timezone(&zone).date_naive() + chrono::Days::new(1);
    browser.goto(&server.url("/dashboard/slots/new")).await.expect("open the slot series form");
    choose(&browser, "facility", "(NPD)").await;
    choose(&browser, "case_type", "(ANC)").await;
    fill(&browser, "first_date", &tomorrow.format("%Y-%m-%d").to_string()).await;
    fill(&browser, "start_time", "10:00").await;
    fill(&browser, "capacity", "5").await;
    choose(&browser, "recurrence", "Weekly").await;
    fill(&browser, "occurrences", "4").await;
    // The form page's navigation also shows "Slots", so wait for the first
    // slot's date, which only the result page shows.
    let slots = submit_form(&browser, &tomorrow.format("%d-%m-%Y").to_string()).await;

    // The new agent books through the webhook, into the new series.
    server.send_sms("+919812345690", "31 ANC Sunita Kale 9876500031").await;
    server.wait_for(1, 0).await;
    browser.goto(&server.url("/dashboard/tasks")).await.expect("open the task list");
    let tasks = wait_for_text(&browser, "Sunita Kale").await;
    browser.close().await.expect("close the browser");

    assert!(facilities.contains("Added."), "{facilities}");
    assert!(facilities.contains("NPD"), "{facilities}");
    assert!(agents.contains("Added."), "{agents}");
    assert!(agents.contains("+919812345690"), "the phone is stored in E.164: {agents}");
    assert!(slots.contains(&tomorrow.format("%d-%m-%Y").to_string()), "the first slot is listed: {slots}");
    assert!(tasks.contains("Naupada HP (NPD)"), "booked at the new facility: {tasks}");
}
