// Pick a person by typing part of their name or ID: a search box whose
// matches (from /persons?q=) appear in a standard <datalist>.
import { useEffect, useId, useState } from 'react';
import { api } from '../api/client';
import type { Person } from '../api/types';

const labelOf = (p: Person) => `${p.name} (${p.external_id})`;

export function PersonPicker({
  label,
  value,
  onChange,
  required,
}: {
  label: string;
  value: Person | null;
  onChange: (p: Person | null) => void;
  required?: boolean;
}) {
  const listId = useId();
  const [text, setText] = useState(value ? `${value.name} (${value.external_id})` : '');
  const [options, setOptions] = useState<Person[]>([]);

  useEffect(() => {
    const q = text.replace(/\s*\([^)]*\)\s*$/, '').trim();
    let live = true;
    const id = window.setTimeout(() => {
      api
        .persons({ q, limit: 20 })
        .then((p) => live && setOptions(p.items))
        .catch(() => live && setOptions([]));
    }, 200);
    return () => {
      live = false;
      window.clearTimeout(id);
    };
  }, [text]);

  // The text may match a person only once the matching options arrive.
  useEffect(() => {
    if (value && labelOf(value) === text) return;
    const match = options.find((p) => labelOf(p) === text);
    if (match) onChange(match);
    // onChange and value are the caller's; re-run only when the options change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [options]);

  return (
    <label className="field">
      <span>{label}</span>
      <input
        list={listId}
        value={text}
        required={required}
        autoComplete="off"
        onChange={(e) => {
          setText(e.target.value);
          onChange(options.find((p) => labelOf(p) === e.target.value) ?? null);
        }}
      />
      <datalist id={listId}>
        {options.map((p) => (
          <option key={p.id} value={labelOf(p)} />
        ))}
      </datalist>
    </label>
  );
}
