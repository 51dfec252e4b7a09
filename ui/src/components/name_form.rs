//! Who this pane's client is: its display name, a field to log in under another, and a
//! way back to the guest name.

use web_sys::HtmlInputElement;
use wire::presence::check_name;
use yew::prelude::*;

/// Props of [`NameForm`].
#[derive(Properties, PartialEq)]
pub struct NameFormProps {
    /// The pane's region.
    pub region: AttrValue,
    /// The name the pane's client connects with.
    pub name: AttrValue,
    /// The name its region confirmed (its `welcome`), while connected.
    pub confirmed: Option<AttrValue>,
    /// The guest name (logging out goes back to it).
    pub guest: AttrValue,
    /// Go by this name from now (checked with the protocol's rule first).
    pub onname: Callback<String>,
}

/// "You are Ana": the name, checked before anything is sent; "Log in" connects again under
/// the typed name (the old member leaves, the new one joins), "Log out" as the guest.
#[component]
pub fn NameForm(props: &NameFormProps) -> Html {
    let draft = use_state(String::new);
    let error = use_state(|| None::<String>);
    let r = &props.region;
    let onsubmit = {
        let (draft, error, onname) = (draft.clone(), error.clone(), props.onname.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match check_name(&draft) {
                Ok(name) => {
                    onname.emit(name);
                    draft.set(String::new());
                    error.set(None);
                }
                Err(why) => error.set(Some(why.to_string())),
            }
        })
    };
    let oninput = {
        let draft = draft.clone();
        Callback::from(move |e: InputEvent| {
            draft.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let onlogout = {
        let (onname, guest) = (props.onname.clone(), props.guest.to_string());
        Callback::from(move |_: MouseEvent| onname.emit(guest.clone()))
    };
    let settled = props.confirmed.as_ref() == Some(&props.name);
    html! {
        <div class="name" data-testid={format!("name-{r}")}>
            <form class="login" {onsubmit}>
                <span class="channels-label" title="The display name this pane's client connects with: every region lists it as online">{ "You" }</span>
                <strong class={classes!("me-name", (!settled).then_some("pending"))} data-testid={format!("me-{r}")}
                    data-name={props.name.clone()} data-confirmed={settled.to_string()}
                    title={if settled { "confirmed by the region" } else { "connecting under this name…" }}>
                    { props.name.clone() }
                </strong>
                <input class="name-input" data-testid={format!("name-input-{r}")} value={(*draft).clone()}
                    {oninput} maxlength="32" placeholder="your name" aria-label="display name" />
                <button type="submit" data-testid={format!("login-{r}")}>{ "Log in" }</button>
                if props.name != props.guest {
                    <button type="button" class="ghost" data-testid={format!("logout-{r}")} onclick={onlogout}>{ "Log out" }</button>
                }
            </form>
            if let Some(e) = &*error {
                <div class="field-error" data-testid={format!("name-error-{r}")}>{ e.clone() }</div>
            }
        </div>
    }
}
