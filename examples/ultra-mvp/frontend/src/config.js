// Runtime configuration, served by serve.py as /config.js (window.ULTRA_CONFIG) so one build
// works in every environment. An empty apiBaseUrl means "same origin".
const runtime = window.ULTRA_CONFIG || {};

export const API_BASE_URL = String(runtime.apiBaseUrl || "").replace(/\/+$/, "");
