import * as fs from "fs";
