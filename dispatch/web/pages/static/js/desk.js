// desk.js: see below.
import './core.js';
