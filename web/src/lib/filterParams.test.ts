// The next address of a filter change is built from the current address:
// two changes in a row compose, a page change keeps the filters, any other
// change goes back to the first page, and dependent filters are cleared.
import { describe, expect, it } from 'vitest';
import { nextFilterSearch } from './filterParams';

const SUBJECT_OF_GROUP = { group_id: ['label'] };

describe('nextFilterSearch', () => {
  it('a group then at once a subject keeps both (each change starts from the address before it)', () => {
    const afterGroup = nextFilterSearch('?from=2026-12-01', 'group_id', 3, SUBJECT_OF_GROUP);
    const afterSubject = nextFilterSearch(`?${afterGroup}`, 'label', 'Matemáticas', SUBJECT_OF_GROUP);
    expect(afterSubject.get('group_id')).toBe('3');
    expect(afterSubject.get('label')).toBe('Matemáticas');
    expect(afterSubject.get('from')).toBe('2026-12-01');
  });
  it('a new group clears its subject; an empty value removes the filter', () => {
    const next = nextFilterSearch('?group_id=3&label=Historia', 'group_id', '', SUBJECT_OF_GROUP);
    expect(next.has('group_id')).toBe(false);
    expect(next.has('label')).toBe(false);
  });
  it('paging keeps the filters; a filter change goes back to the first page', () => {
    expect(nextFilterSearch('?camera_id=2&offset=50', 'offset', 100).toString()).toBe('camera_id=2&offset=100');
    expect(nextFilterSearch('?camera_id=2&offset=50', 'camera_id', 4).toString()).toBe('camera_id=4');
  });
});
