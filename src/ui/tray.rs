//! The tray monitor: an icon whose colour follows the stack (green all ready, amber starting or
//! recovering, red failed) and a menu (Show/Hide, Start all, Stop all, Quit). On Linux it uses the
//! StatusNotifierItem protocol over D-Bus (`ksni`): where no tray host runs, creating it fails and
//! the app carries on without a tray, saying so once.

use std::sync::mpsc;

use egui::Color32;

use crate::ui::state::Health;
use crate::ui::theme;

/// What a tray menu entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    /// Show the window, or hide it when shown.
    ToggleWindow,
    /// Start every service.
    StartAll,
    /// Stop every service.
    StopAll,
    /// Stop everything and quit.
    Quit,
}

/// The menu, in order: the app's own model of it (tests use this, the tray builds from it).
pub const MENU: [(TrayAction, &str); 4] = [
    (TrayAction::ToggleWindow, "Show/Hide"),
    (TrayAction::StartAll, "Start all"),
    (TrayAction::StopAll, "Stop all"),
    (TrayAction::Quit, "Quit"),
];

/// A square RGBA icon: a disc in `color` with a white cross.
pub fn icon_rgba(color: Color32, size: u32) -> Vec<u8> {
    let mut px = vec![0u8; (size * size * 4) as usize];
    let c = (size as f32 - 1.0) / 2.0;
    let r = size as f32 / 2.0 - 0.5;
    let arm = size as f32 * 0.28;
    let half_width = size as f32 * 0.09;
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (x as f32 - c, y as f32 - c);
            let d = (dx * dx + dy * dy).sqrt();
            let alpha = ((r - d + 0.5).clamp(0.0, 1.0) * 255.0) as u8;
            if alpha == 0 {
                continue;
            }
            let cross = (dx.abs() <= half_width && dy.abs() <= arm)
                || (dy.abs() <= half_width && dx.abs() <= arm);
            let rgb = if cross {
                [255, 255, 255]
            } else {
                [color.r(), color.g(), color.b()]
            };
            let i = ((y * size + x) * 4) as usize;
            px[i..i + 3].copy_from_slice(&rgb);
            px[i + 3] = alpha;
        }
    }
    px
}

/// The window icon (the "all ready" colour).
pub fn window_icon() -> egui::IconData {
    egui::IconData {
        rgba: icon_rgba(theme::GOOD, 64),
        width: 64,
        height: 64,
    }
}

/// A live tray icon.
pub struct Tray {
    icon: tray_icon::TrayIcon,
    health: Health,
    actions: mpsc::Receiver<TrayAction>,
}

impl Tray {
    /// Creates the tray icon; `wake` is called when a menu entry is chosen (so a hidden window still
    /// reacts). Fails, without panicking, where no tray host exists.
    pub fn create(wake: impl Fn() + Send + Sync + 'static) -> Result<Tray, String> {
        use tray_icon::menu::{Menu, MenuEvent, MenuItem};
        host_available()?;
        let menu = Menu::new();
        let mut ids = Vec::new();
        for (action, label) in MENU {
            let item = MenuItem::new(label, true, None);
            ids.push((item.id().clone(), action));
            menu.append(&item).map_err(|e| format!("tray menu: {e}"))?;
        }
        let icon = tray_icon::TrayIconBuilder::new()
            .with_menu(Box::new(menu))
            .with_tooltip("Startup Medic")
            .with_title("Startup Medic")
            .with_icon(make_icon(Health::Busy)?)
            .build()
            .map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel();
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            if let Some((_, action)) = ids.iter().find(|(id, _)| *id == event.id) {
                let _ = tx.send(*action);
                wake();
            }
        }));
        Ok(Tray {
            icon,
            health: Health::Busy,
            actions: rx,
        })
    }

    /// Menu entries chosen since the last call.
    pub fn poll(&self) -> Vec<TrayAction> {
        self.actions.try_iter().collect()
    }

    /// Recolours the icon when the stack's health changed.
    pub fn set_health(&mut self, health: Health, tooltip: &str) {
        if health == self.health {
            return;
        }
        self.health = health;
        if let Ok(icon) = make_icon(health) {
            let _ = self.icon.set_icon(Some(icon));
        }
        let _ = self.icon.set_tooltip(Some(tooltip));
    }
}

/// On Linux the tray needs a StatusNotifierItem host; without one an icon would be created but
/// never shown, and a window closed "to the tray" could not be brought back.
#[cfg(target_os = "linux")]
fn host_available() -> Result<(), String> {
    if crate::ui::session_bus_has("org.kde.StatusNotifierWatcher")? {
        Ok(())
    } else {
        Err("no tray host (StatusNotifierWatcher) runs on the session bus".into())
    }
}

#[cfg(not(target_os = "linux"))]
fn host_available() -> Result<(), String> {
    Ok(())
}

fn make_icon(health: Health) -> Result<tray_icon::Icon, String> {
    tray_icon::Icon::from_rgba(icon_rgba(theme::health_color(health), 32), 32, 32)
        .map_err(|e| e.to_string())
}
