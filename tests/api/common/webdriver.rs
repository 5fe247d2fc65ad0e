//! A small W3C WebDriver client over the HTTP client the tests already use, driving Debian's
//! headless Chromium through its chromedriver. (A crate such as fantoccini would bring an HTTP
//! stack of its own for these few calls.)

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long chromedriver may take to answer its status.
const DRIVER_START_SECS: u64 = 30;
/// How long a page may take to show what an action leads to.
const PAGE_WAIT_SECS: u64 = 20;

/// A browser session; the browser and its driver stop when it is dropped.
pub struct Browser {
    /// Where the browser saves what it downloads.
    pub downloads: super::TempDir,
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

fn find_program(names: &[&str]) -> Option<String> {
    names
        .iter()
        .flat_map(|n| {
            std::env::var("PATH")
                .unwrap_or_default()
                .split(':')
                .map(|dir| format!("{dir}/{n}"))
                .collect::<Vec<_>>()
        })
        .find(|p| std::path::Path::new(p).exists())
}

impl Browser {
    /// A headless Chromium, or `None` (said on stderr) when the machine has none; in CI its
    /// absence fails the test instead.
    pub fn start() -> Option<Browser> {
        let (Some(driver), Some(chromium)) = (
            find_program(&["chromedriver"]),
            find_program(&["chromium", "chromium-browser"]),
        ) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must have chromium and chromedriver (.ci/run installs them)"
            );
            eprintln!(
                "chromium or chromedriver is not installed here: the browser test is skipped"
            );
            return None;
        };
        let port = super::free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while agent.get(format!("{base}/status")).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(DRIVER_START_SECS),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let downloads = super::TempDir::new();
        let mut browser = Browser {
            downloads,
            driver: child,
            base,
            session: String::new(),
            agent,
        };
        let created = browser.call(
            "POST",
            "/session",
            Some(json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium, "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,900"
                ], "prefs": {
                    "download.default_directory": browser.downloads.path().to_str().unwrap(),
                    "download.prompt_for_download": false
                } }
            } } })),
        );
        browser.session = created["sessionId"].as_str().unwrap().to_owned();
        Some(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut response = match body {
            Some(b) => self.agent.post(&url).send_json(b).unwrap(),
            None if method == "DELETE" => self.agent.delete(&url).call().unwrap(),
            None => self.agent.get(&url).call().unwrap(),
        };
        let status = response.status().as_u16();
        let value: Value = response.body_mut().read_json().unwrap();
        assert_eq!(status, 200, "{method} {path}: {value}");
        value["value"].clone()
    }

    fn at(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.call("POST", &self.at("/url"), Some(json!({ "url": url })));
    }

    /// The first element `css` selects.
    pub fn find(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            &self.at("/element"),
            Some(json!({ "using": "css selector", "value": css })),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_owned()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.call(
            "POST",
            &self.at(&format!("/element/{el}/value")),
            Some(json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let el = self.find(css);
        self.call(
            "POST",
            &self.at(&format!("/element/{el}/click")),
            Some(json!({})),
        );
    }

    /// What `script` (a function body) returns in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.at("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    pub fn url(&self) -> String {
        self.call("GET", &self.at("/url"), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits until the page an action led to has loaded and `check` holds on it: a click
    /// that submits a form returns before the next page is there.
    pub fn wait_for(&self, what: &str, check: impl Fn(&Browser) -> bool) {
        let started = Instant::now();
        loop {
            let loaded = self.eval("return document.readyState;") == "complete";
            if loaded && check(self) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(PAGE_WAIT_SECS),
                "waited for {what}; at {}: {}",
                self.url(),
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the browser is at a URL ending with `suffix`.
    pub fn wait_at(&self, suffix: &str) {
        self.wait_for(suffix, |b| b.url().ends_with(suffix));
    }

    /// A PNG of the element `css` selects, as the browser draws it.
    pub fn element_png(&self, css: &str) -> Vec<u8> {
        let el = self.find(css);
        let shot = self.call("GET", &self.at(&format!("/element/{el}/screenshot")), None);
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            shot.as_str().unwrap(),
        )
        .unwrap()
    }

    /// A PNG of the whole page as drawn at `width_px` (a phone's width draws as a phone's
    /// screen): the viewport is made as tall as the page for the shot (Chromium's DevTools
    /// metrics override, through chromedriver), then restored.
    pub fn page_png(&self, width_px: u32) -> Vec<u8> {
        let metrics = |height_px: u64| {
            self.cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width_px, "height": height_px, "deviceScaleFactor": 1, "mobile": width_px < 500 }),
            );
        };
        metrics(900);
        let height = self
            .eval("return document.documentElement.scrollHeight;")
            .as_u64()
            .unwrap_or(900);
        metrics(height.clamp(400, 8000));
        let shot = self.call("GET", &self.at("/screenshot"), None);
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            shot.as_str().unwrap(),
        )
        .unwrap()
    }

    /// A Chrome DevTools Protocol command, through chromedriver.
    fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(
            "POST",
            &self.at("/goog/cdp/execute"),
            Some(json!({ "cmd": cmd, "params": params })),
        )
    }

    /// Sets the window's size in CSS pixels.
    pub fn resize(&self, width_px: u32, height_px: u32) {
        self.call(
            "POST",
            &self.at("/window/rect"),
            Some(json!({ "width": width_px, "height": height_px })),
        );
    }

    /// Waits until a download named `file` is complete; its bytes.
    pub fn downloaded(&self, file: &str) -> Vec<u8> {
        let path = self.downloads.path().join(file);
        let started = Instant::now();
        loop {
            // Chromium reserves the final name with an empty file, writes to a
            // `.crdownload` and renames it over the placeholder when done.
            let in_progress = std::fs::read_dir(self.downloads.path()).is_ok_and(|d| {
                d.filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"))
            });
            if !in_progress
                && let Ok(bytes) = std::fs::read(&path)
                && !bytes.is_empty()
            {
                return bytes;
            }
            assert!(
                started.elapsed() < Duration::from_secs(PAGE_WAIT_SECS),
                "waited for the download {file}; the folder holds {:?}",
                std::fs::read_dir(self.downloads.path()).map(|d| d
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The page's text as a reader sees it.
    pub fn text(&self) -> String {
        self.eval("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
