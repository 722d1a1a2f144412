"""The stage page's HTML, CSS and JavaScript (served by liveai.transports.stage; no build step)."""
