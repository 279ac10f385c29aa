// booking.js: see below.
import './core.js';
