// The deployable entry: importing it registers both functions with the functions-framework
// (`--target=flush` or `--target=worker` picks one).
import './flush.js';
import './worker.js';
