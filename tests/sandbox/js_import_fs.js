// expect: sandbox.denied
import * as fs from "fs";
export default fs;
