import type { ChatMessage } from './llm.js';

/** A conversation kept between runs, so a later run can continue it. */
export interface SessionRecord {
  id: string;
  /** The working tree (or repository) the conversation is about. */
  cwd: string;
  model: string;
  /** The conversation without the system message. */
  messages: ChatMessage[];
  createdAt: string;
  updatedAt: string;
}

export interface SessionStore {
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** The most recently updated session for a working tree. */
  latestSession(cwd: string): Promise<SessionRecord | undefined>;
  saveSession(record: Omit<SessionRecord, 'createdAt' | 'updatedAt'>): Promise<void>;
}
