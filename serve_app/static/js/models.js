// The model picker: the configured models; choosing one loads it as the server's default
// (POST /models/load) and names it on each message sent from this page.
import { models } from "./api.js";
import { el, toast } from "./dom.js";

export class ModelPicker {
  /** onChange(model) is called after the server loaded the chosen model. */
  constructor(select, { onChange = () => {} } = {}) {
    this.select = select;
    this.onChange = onChange;
    this.models = [];
    select.addEventListener("change", () => this.choose(select.value));
  }

  async load() {
    this.models = (await models.list()).models;
    this.select.replaceChildren(
      ...this.models.map((model) =>
        el(
          "option",
          { value: model.id, title: model.name },
          model.available ? model.id : `${model.id} (no key: ${model.key_env || "not set"})`,
        ),
      ),
    );
    const current = this.models.find((model) => model.current) || this.models[0];
    if (current) this.select.value = current.id;
  }

  /** The model entry that answers the next message. */
  get current() {
    return this.models.find((model) => model.id === this.select.value) || null;
  }

  async choose(modelId) {
    try {
      const result = await models.load(modelId);
      for (const model of this.models) model.current = model.id === modelId;
      if (result.warning) toast(result.warning, { error: true });
      this.onChange(this.current);
    } catch (error) {
      toast(`Could not load ${modelId}: ${error.message}`, { error: true });
      await this.load();
    }
  }
}
