/**
 * The temp-file naming contract shared by the atomic writer and the sweep:
 * `<target name>.<pid>.<counter>.<12 hex>.tmp`, in the target's directory
 * (a target name too long for that is cut and hashed: see sibling-name.ts).
 * The pid says whose file it is (so a sweep can tell a crashed writer's
 * leftovers from a live one's), the counter keeps one process's names apart,
 * and the random part keeps apart processes that reuse a pid.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { siblingPath } from './sibling-name.js';

const TEMP_NAME = /^(.+)\.([1-9]\d{0,9})\.(\d+)\.([0-9a-f]{12})\.tmp$/;

let counter = 0;

/** A fresh, unique temp path beside `target`. */
export function tempPathFor(target: string): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return siblingPath(target, `.${process.pid}.${counter}.${randomBytes(6).toString('hex')}.tmp`);
}

/** The pid of the process that made a temp file of this naming, or undefined for any other name. */
export function tempFileOwner(fileName: string): number | undefined {
  const match = TEMP_NAME.exec(path.basename(fileName));
  return match === null ? undefined : Number(match[2]);
}
