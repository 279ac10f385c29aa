// tech.js: see below.
import './core.js';
