// board.js: see below.
import './core.js';
